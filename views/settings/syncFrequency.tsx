import { nextSync } from '../../src/domain/scheduler.ts'
import type { StoreSettings } from '../../src/domain/settings.ts'
import { SelectField } from '../fields.tsx'
import type { SettingsSection } from './types.ts'

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']

/**
 * When the scheduler syncs next and which period (`#next-sync`), from the saved settings and
 * the server's clock: "Next sync: Mon 01:00 America/New_York, covering 2026-11-23 – 2026-11-29".
 */
export function NextSync({ settings, now }: { settings: StoreSettings; now: Temporal.Instant }) {
  const next = nextSync(now, settings)
  const at = next.at.toZonedDateTimeISO(settings.timezone)
  const time = `${String(at.hour).padStart(2, '0')}:${String(at.minute).padStart(2, '0')}`
  const days = next.period.days
  const covering = days.length === 1 ? `${days[0]}` : `${days[0]} – ${days[days.length - 1]}`
  const line = `${WEEKDAYS[at.dayOfWeek - 1]} ${time} ${settings.timezone}, covering ${covering}`
  return (
    <p id="next-sync" class="next-sync" data-at={next.at.toString()}>
      {settings.api_enabled ? (
        <span safe>{`Next sync: ${line}`}</span>
      ) : (
        <span
          safe
        >{`No scheduled sync while API Status is Deactivated. Once activated, the next: ${line}`}</span>
      )}
    </p>
  )
}

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
  render({ state, settings, now }) {
    return (
      <>
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
        <NextSync settings={settings} now={Temporal.Instant.fromEpochMilliseconds(now)} />
      </>
    )
  },
}
