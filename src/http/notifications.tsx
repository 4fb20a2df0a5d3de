import { Elysia } from 'elysia'
import { Outbox, TestEmailResult } from '../../views/settings/notifications.tsx'
import { previewSettings, smtpTarget, testEmail } from '../domain/mailer.ts'
import { storeMinute } from '../domain/notifications.ts'
import { notificationRecipient, readSettings, SettingsError } from '../domain/settings.ts'
import { adminAuth } from './auth.ts'
import type { AppContext } from './context.ts'
import { htmlResponse } from './html.ts'
import { settingsChanges } from './settings.tsx'

/** The form fields "Send test email" takes into account (saved or not). */
const TEST_FIELDS = new Set([
  'smtp_host',
  'smtp_port',
  'smtp_security',
  'smtp_user',
  'smtp_password',
  'smtp_from',
  'notify_recipient',
  'store_email',
])

/** "Send test email" and the outbox fragment of the settings page; admin only. */
export function notificationRoutes(ctx: AppContext) {
  const { db, clock } = ctx
  const storeId = ctx.store.id
  const invalid = (message: string) =>
    htmlResponse(<TestEmailResult outcome="invalid" message={message} />, 422)

  return new Elysia({ name: 'notifications', seed: ctx })
    .use(adminAuth(ctx))
    .guard({ admin: true })
    .get('/settings/notifications/outbox', () =>
      htmlResponse(<Outbox ctx={ctx} settings={readSettings(db, storeId)} />),
    )
    .post('/settings/notifications/test', async ({ body }) => {
      const typed = Object.fromEntries(
        Object.entries(settingsChanges(body)).filter(([k]) => TEST_FIELDS.has(k)),
      )
      let settings: ReturnType<typeof readSettings>
      try {
        settings = previewSettings(db, storeId, typed, clock)
      } catch (err) {
        if (err instanceof SettingsError) return invalid(`Not sent: ${err.message}`)
        throw err
      }
      const to = notificationRecipient(settings)
      if (!to) return invalid('Not sent: set a Recipient or the store email first.')
      const mailer = ctx.mailer(storeId, settings)
      const target = smtpTarget(ctx.config, settings)
      if (!mailer || !target) {
        return invalid('Not sent: fill in the SMTP host first (or set MIDA_SMTP_URL).')
      }
      const at = `${storeMinute(clock.now(), settings.timezone)} (${settings.timezone})`
      try {
        const receipt = await mailer.send(testEmail(to, target, ctx.config.baseUrl, at))
        return htmlResponse(
          <TestEmailResult
            outcome="sent"
            message={`Test email sent to ${to}. The SMTP server answered: ${receipt.response}`}
          />,
        )
      } catch (err) {
        // The SMTP server's refusal is the answer the admin asked for, not a server error.
        return htmlResponse(
          <TestEmailResult outcome="failed" message={`Not sent: ${(err as Error).message}`} />,
        )
      }
    })
}
