import { CheckboxField, TextField } from '../fields.tsx'
import type { SettingsSection } from './types.ts'

/** "Receive email Notifications": success and failure emails and their recipient. */
export const emailNotificationsSection: SettingsSection = {
  id: 'notifications',
  title: 'Receive email Notifications',
  fields: true,
  render({ state, settings }) {
    return (
      <>
        <CheckboxField
          name="notify_success"
          label="Notify me when data sync is successful"
          state={state}
        />
        <CheckboxField name="notify_failure" label="Notify me when data sync fails" state={state} />
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
