import { SelectField, TextField } from '../fields.tsx'
import type { SettingsSection } from './types.ts'

const TIME_ZONES = Intl.supportedValuesOf('timeZone')
const CURRENCIES = Intl.supportedValuesOf('currency')

/** The store: name, email, time zone, currency and the first day of its week. */
export const storeSection: SettingsSection = {
  id: 'store',
  title: 'Store',
  intro: 'Periods are computed in the store time zone; amounts are in its currency.',
  fields: true,
  render({ state }) {
    return (
      <>
        <div class="grid">
          <TextField
            name="store_name"
            label="Store name"
            autocomplete="organization"
            state={state}
          />
          <TextField
            name="store_email"
            label="Store email"
            type="email"
            autocomplete="email"
            state={state}
          />
        </div>
        <div class="grid">
          <TextField
            name="timezone"
            label="Time zone"
            list="time-zones"
            help="An IANA name such as America/New_York."
            state={state}
          />
          <TextField
            name="currency"
            label="Currency"
            list="currencies"
            help="An ISO 4217 code such as USD."
            state={state}
          />
          <SelectField
            name="week_start"
            label="Week starts on"
            state={state}
            options={[
              ['monday', 'Monday'],
              ['sunday', 'Sunday'],
            ]}
          />
        </div>
        <datalist id="time-zones">
          {TIME_ZONES.map((tz) => (
            <option value={tz} />
          ))}
        </datalist>
        <datalist id="currencies">
          {CURRENCIES.map((c) => (
            <option value={c} />
          ))}
        </datalist>
      </>
    )
  },
}
