import { CopyRow } from '../fields.tsx'
import { modelOf, type ReportsModel, type SettingsSection } from './types.ts'

/**
 * The Google Sheets formula that imports the report's CSV with a report key (`token`), of a
 * range when given, else of the API's default (the last 30 days until yesterday).
 */
export function sheetsFormula(
  baseUrl: string,
  token: string,
  range?: { from: string; to: string },
): string {
  const days = range ? `&from=${range.from}&to=${range.to}` : ''
  return `=IMPORTDATA("${baseUrl}/apiv1/analytics/report?format=csv${days}&token=${token}")`
}

const DIMENSIONS: [string, string][] = [
  ['day', 'Day'],
  ['device', 'Device'],
  ['source', 'Source'],
  ['landing_page', 'Landing page'],
]

/** The range and breakdown to download, tied to the report form (never sent by Save). */
function ReportForm({ model }: { model: ReportsModel }) {
  return (
    <div class="report-fields">
      <div class="field">
        <label for="report-from">From</label>
        <input
          id="report-from"
          name="from"
          type="date"
          form="report-form"
          value={model.from}
          max={model.today}
          required
        />
      </div>
      <div class="field">
        <label for="report-to">To</label>
        <input
          id="report-to"
          name="to"
          type="date"
          form="report-form"
          value={model.to}
          max={model.today}
          required
        />
      </div>
      <div class="field">
        <label for="report-dimension">One row per</label>
        <select id="report-dimension" name="dimension" form="report-form">
          {DIMENSIONS.map(([value, label]) => (
            <option value={value} selected={value === 'day'} safe>
              {label}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" form="report-form" id="report-download">
        Download CSV
      </button>
    </div>
  )
}

/** "Reports": a CSV of any range to download, and the formula that keeps a Google Sheet up to date. */
function Reports({ model }: { model: ReportsModel }) {
  return (
    <div id="reports">
      <p class="muted">
        Whole days in the store's time zone, at most 400; today counts so far. The figures are the
        sync API's for the same days.
      </p>
      <ReportForm model={model} />
      <p>Google Sheets formula (the last 30 days until yesterday):</p>
      <CopyRow id="report-formula" text={sheetsFormula(model.baseUrl, 'YOUR_REPORT_KEY', model)} />
      <p class="muted" id="report-key-hint">
        Replace <code>YOUR_REPORT_KEY</code> with a key of scope <strong>report</strong> (create one
        under <a href="#section-api-keys">API Keys</a>): it can read reports and nothing else, so it
        is safe in a spreadsheet link. Leave out <code>from</code> and <code>to</code> for a sheet
        that always shows the last 30 days.
      </p>
    </div>
  )
}

/** "Reports": download a range as CSV, and the IMPORTDATA formula for Google Sheets. */
export const reportsSection: SettingsSection = {
  id: 'reports',
  title: 'Reports',
  intro: 'Any range of days as CSV: by day, device, source or landing page.',
  fields: false,
  models: ['reports'],
  render(view) {
    return <Reports model={modelOf(view, 'reports')} />
  },
  forms(view) {
    return <form id="report-form" method="get" action={`${view.base}/settings/report.csv`}></form>
  },
}
