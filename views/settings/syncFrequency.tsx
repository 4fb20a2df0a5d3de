import { SelectField } from '../fields.tsx'
import type { SettingsSection } from './types.ts'

const HOURS: [string, string][] = Array.from({ length: 24 }, (_, h) => [
  String(h),
  `${String(h).padStart(2, '0')}:00`,
])

/** "Data Sync Frequency": daily (previous day) or weekly (previous week), and the hour. */
export const syncFrequencySection: SettingsSection = {
  id: 'sync',
  title: 'Data Sync Frequency',
  intro: 'Which period the API returns, and when the scheduler syncs it.',
  fields: true,
  render({ state, settings }) {
    return (
      <div class="grid">
        <SelectField
          name="sync_frequency"
          label="Data Sync Frequency"
          state={state}
          options={[
            ['daily', 'Daily – previous day'],
            ['weekly', 'Weekly – previous week'],
          ]}
        />
        <SelectField
          name="sync_hour"
          label={`Sync time (store time, ${settings.timezone})`}
          state={state}
          options={HOURS}
          help="The scheduled sync runs after this hour, once the period is complete."
        />
      </div>
    )
  },
}
