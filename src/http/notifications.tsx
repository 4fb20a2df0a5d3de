import { Elysia } from 'elysia'
import { testEmail } from '../../views/emails/testEmail.tsx'
import { Outbox, TestEmailResult } from '../../views/settings/notifications.tsx'
import { modelOf } from '../../views/settings/types.ts'
import {
  describeSmtpTarget,
  sameSmtpServer,
  smtpTarget,
  testEmailFailure,
} from '../domain/mailer.ts'
import {
  notificationRecipient,
  previewSettings,
  readSettings,
  SettingsError,
  type StoreSettings,
} from '../domain/settings.ts'
import { formatStoreTimeWithZone } from '../lib/format.ts'
import { adminAuth } from './auth.ts'
import type { AppContext } from './context.ts'
import { htmlResponse } from './html.ts'
import { settingsChanges } from './settings.tsx'
import { loadSettingsView } from './settingsModels.ts'

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
export function notificationRoutes(ctx: AppContext, prefix: string) {
  const { data, clock } = ctx
  const invalid = (message: string) =>
    htmlResponse(<TestEmailResult outcome="invalid" message={message} />, 422)

  return new Elysia({ name: 'notifications', seed: prefix, prefix })
    .use(adminAuth(ctx))
    .guard({ store: true })
    .get('/settings/notifications/outbox', async ({ scope }) =>
      htmlResponse(
        <Outbox
          model={modelOf(await loadSettingsView(ctx, { scope, models: ['outbox'] }), 'outbox')}
        />,
      ),
    )
    .post('/settings/notifications/test', async ({ body, scope: { store } }) => {
      const typed = Object.fromEntries(
        Object.entries(settingsChanges(body)).filter(([k]) => TEST_FIELDS.has(k)),
      )
      let settings: Readonly<StoreSettings>
      try {
        settings = await previewSettings(data, store, typed, clock)
      } catch (err) {
        if (err instanceof SettingsError) return invalid(`Not sent: ${err.message}`)
        throw err
      }
      const to = notificationRecipient(settings)
      if (!to) return invalid('Not sent: set a Recipient or the store email first.')
      let target = smtpTarget(ctx.config, settings)
      if (target?.source === 'settings' && typed.smtp_password === undefined) {
        // An empty password field means the saved password: it goes only to the saved server.
        const saved = smtpTarget(ctx.config, await readSettings(data, store))
        if (!saved || !sameSmtpServer(target, saved)) {
          if (target.user && target.password) {
            return invalid(
              `Not sent: the saved SMTP password is only sent to the saved server${saved ? ` (${describeSmtpTarget(saved)})` : ''}. To test ${describeSmtpTarget(target)}, type the password again.`,
            )
          }
          settings = { ...settings, smtp_password: '' }
          target = smtpTarget(ctx.config, settings)
        }
      }
      const mailer = await ctx.mailer(store.id, settings)
      if (!mailer || !target) {
        return invalid('Not sent: fill in the SMTP host first (or set MIDA_SMTP_URL).')
      }
      const at = formatStoreTimeWithZone(clock.now(), settings.timezone)
      const server = `${target.host}:${target.port}`
      try {
        // Its link leads to the settings page of the store it was sent from.
        const page = `${ctx.config.baseUrl}/stores/${store.slug}/settings`
        const receipt = await mailer.send(testEmail(to, target, page, at))
        // Only the reply code: the server's own words are not echoed (see testEmailFailure).
        const code = /^\d{3}/.exec(receipt.response.trim())?.[0]
        return htmlResponse(
          <TestEmailResult
            outcome="sent"
            message={`Test email sent to ${to} through ${server}${code ? `; the SMTP server accepted it (${code})` : ''}.`}
          />,
        )
      } catch (err) {
        // The SMTP server's refusal is the answer the admin asked for, not a server error.
        return htmlResponse(
          <TestEmailResult
            outcome="failed"
            message={`Not sent: ${testEmailFailure(err, target)}`}
          />,
        )
      }
    })
}
