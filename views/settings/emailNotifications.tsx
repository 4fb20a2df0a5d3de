import { notificationRecipient } from '../../src/domain/settings.ts'
import { CheckboxField, TextField } from '../fields.tsx'
import type { SettingsSection, SettingsView } from './types.ts'

/**
 * Next to the switches: a warning for each reason the saved notification settings would send
 * nothing (no SMTP server, no recipient), naming which emails are on.
 */
function NotificationWarnings({ settings, smtp }: Pick<SettingsView, 'settings' | 'smtp'>) {
  const on = [settings.notify_failure ? 'Failure' : '', settings.notify_success ? 'success' : '']
    .filter(Boolean)
    .join(' and ')
  if (!on) return ''
  const kinds = `${on.charAt(0).toUpperCase()}${on.slice(1)} emails are on`
  const noSmtp = smtp === null
  const noRecipient = notificationRecipient(settings) === ''
  return (
    <>
      {noSmtp ? (
        <p id="notify-warning-smtp" class="notify-warning" role="note">
          <strong safe>{`${kinds} but no SMTP server is configured`}</strong>: they wait in the
          outbox as "not sendable". Fill in <a href="#section-smtp">Email delivery (SMTP)</a> and
          Save, or set <code>MIDA_SMTP_URL</code>.
        </p>
      ) : (
        ''
      )}
      {noRecipient ? (
        <p id="notify-warning-recipient" class="notify-warning" role="note">
          <strong safe>{`${kinds} but no recipient`}</strong>: set a Recipient below or the{' '}
          <a href="#section-store">store email</a>, and Save.
        </p>
      ) : (
        ''
      )}
    </>
  )
}

/** "Receive email Notifications": success and failure emails and their recipient. */
export const emailNotificationsSection: SettingsSection = {
  id: 'notifications',
  title: 'Receive email Notifications',
  fields: true,
  render({ state, settings, smtp }) {
    return (
      <>
        <NotificationWarnings settings={settings} smtp={smtp} />
        <CheckboxField
          name="notify_success"
          label="Notify me when data sync is successful"
          state={state}
        />
        <CheckboxField name="notify_failure" label="Notify me when data sync fails" state={state} />
        <CheckboxField
          name="notify_attach_csv"
          label="Attach the period's figures by day as a CSV file to success emails"
          state={state}
        />
        <TextField
          name="notify_recipient"
          label="Recipient"
          type="email"
          autocomplete="email"
          placeholder={settings.store_email || 'the store email'}
          help={
            settings.store_email
              ? `Empty: the store email (${settings.store_email}).`
              : 'Empty: the store email.'
          }
          state={state}
        />
      </>
    )
  },
}
