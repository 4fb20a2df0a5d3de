// The report (DESIGN "Report API"): any range of whole store days, as the sync's metrics (the same
// computation, `periodFigures`), broken down by day, device, source or landing page, compared
// with the period before or the same weekdays a year earlier, worded as JSON, CSV or NDJSON. Read
// in one read-only transaction and never stored: a range may hold today, which no sync record may.
import type { Data, Queries } from '../db/data.ts'
import { ordersByColumn, type SessionColumn, sessionsByColumn } from '../db/report.ts'
import { byteOrder } from '../lib/byteOrder.ts'
import type { Clock } from './clock.ts'
import { InvalidInput } from './errors.ts'
import { type Metrics, periodFigures, type RateInputs, rateFigures } from './metrics.ts'
import { dayRange, type Period, type PeriodJson, periodJson, storeDate } from './periods.ts'
import type { StoreSettings } from './settings.ts'
import type { Store } from './stores.ts'

export type ReportFormat = 'json' | 'csv' | 'ndjson'
export type ReportDimension = 'day' | SessionColumn
export type Comparison = 'previous_period' | 'previous_year'

/** The longest range a report covers, in days. */
const MAX_REPORT_DAYS = 400
/** The days of a default range, ending yesterday. */
const DEFAULT_REPORT_DAYS = 30
/** 52 weeks: the same weekdays a year earlier. */
const YEAR_OF_WEEKS_DAYS = 364

/** The row that gathers the successful orders whose session is not known. */
export const NO_SESSION = '(none)'

/** What a report is asked for; dates are store days. */
export interface ReportRequest {
  from?: Temporal.PlainDate
  to?: Temporal.PlainDate
  dimension?: ReportDimension
  compare?: Comparison
}

/** The figures of one row: one day or one value of a session column. */
interface ReportFigures {
  visitors: number
  sessions: number
  pageviews: number
  bounce_rate: number
  avg_session_duration_seconds: number
  successful_orders: number
  revenue: number
  conversion_rate: number
}

/**
 * One row of a report, as the CSV, NDJSON and JSON `rows` give it: the dimension's column
 * (`date`, `device`, `source` or `landing_page`), the figures, and with a comparison the paired
 * row's `previous_<column>` values (`previous_date` too for days).
 */
type ReportRow = Record<string, string | number>

/** The figure columns of a row, in CSV order. */
const REPORT_FIGURES: readonly (keyof ReportFigures)[] = [
  'visitors',
  'sessions',
  'pageviews',
  'bounce_rate',
  'avg_session_duration_seconds',
  'successful_orders',
  'revenue',
  'conversion_rate',
]

/** The JSON answer of `GET /apiv1/analytics/report`. */
interface ReportBody {
  success: true
  period: PeriodJson
  currency: string
  data: Metrics
  comparison?: { period: PeriodJson; data: Metrics }
  dimension?: ReportDimension
  rows?: ReportRow[]
}

/** A computed report: the period, its metrics and rows, and the comparison's. */
export interface Report {
  period: Period
  currency: string
  data: Metrics
  dimension: ReportDimension | null
  /** The column heads of `rows`, in order (empty without a dimension). */
  columns: string[]
  rows: ReportRow[]
  comparison: { period: Period; data: Metrics } | null
}

/** The name of a dimension's own column. */
function keyColumn(dimension: ReportDimension): string {
  return dimension === 'day' ? 'date' : dimension
}

/**
 * The range a report covers, in the store's time zone: `to` defaults to yesterday (to `from` when
 * that is today or later: `from=<today>` alone is today so far), `from` to 29
 * days before `to` (30 days); `to` may be today (counted so far) but no later, `from` ≤ `to`,
 * and at most 400 days.
 */
export function reportPeriod(
  request: Pick<ReportRequest, 'from' | 'to'>,
  timeZone: string,
  now: Temporal.Instant,
): Period {
  const today = storeDate(now, timeZone)
  const yesterday = today.subtract({ days: 1 })
  // `from` alone ending after yesterday (today) gives a range to that day: today so far.
  const to =
    request.to ??
    (request.from && Temporal.PlainDate.compare(request.from, yesterday) > 0
      ? request.from
      : yesterday)
  const from = request.from ?? to.subtract({ days: DEFAULT_REPORT_DAYS - 1 })
  if (Temporal.PlainDate.compare(to, today) > 0) {
    throw new InvalidInput(`to (${to}) is after today (${today} in ${timeZone})`)
  }
  if (Temporal.PlainDate.compare(from, to) > 0) {
    throw new InvalidInput(`from (${from}) is after to (${to})`)
  }
  const days = from.until(to, { largestUnit: 'days' }).days + 1
  if (days > MAX_REPORT_DAYS) {
    throw new InvalidInput(
      `The range ${from} to ${to} is ${days} days: a report covers at most ${MAX_REPORT_DAYS}`,
    )
  }
  return dayRange(from, to, timeZone)
}

/**
 * The period a range is compared with: `previous_period` the same number of days just before,
 * `previous_year` the same weekdays 52 weeks (364 days) earlier. Keeps the frequency (a daily or
 * weekly sync's comparison is a period of the same frequency).
 */
export function comparisonPeriod(period: Period, compare: Comparison): Period {
  const from = period.days[0]!
  const to = period.days.at(-1)!
  const back = compare === 'previous_year' ? YEAR_OF_WEEKS_DAYS : period.days.length
  return dayRange(
    from.subtract({ days: back }),
    to.subtract({ days: back }),
    period.timeZone,
    period.frequency,
  )
}

/** A row's figures from its additive parts. */
function groupFigures(f: RateInputs & { visitors: number; pageviews: number }): ReportFigures {
  const rates = rateFigures(f)
  return {
    visitors: f.visitors,
    sessions: f.sessions,
    pageviews: f.pageviews,
    bounce_rate: rates.bounce_rate,
    avg_session_duration_seconds: rates.avg_session_duration_seconds,
    successful_orders: f.orders,
    revenue: rates.revenue,
    conversion_rate: rates.conversion_rate,
  }
}

/**
 * The rows of a session column over the period: one per value its sessions or orders have, most
 * sessions first (then by value), and the orders of no known session last, as `(none)`.
 */
async function columnRows(
  q: Queries,
  store: Store,
  period: Period,
  column: SessionColumn,
): Promise<{ value: string; figures: ReportFigures }[]> {
  const range = {
    storeId: store.id,
    from: period.start.epochMilliseconds,
    to: period.end.epochMilliseconds,
  }
  const groups = new Map<string | null, RateInputs & { visitors: number; pageviews: number }>()
  const group = (value: string | null) => {
    let g = groups.get(value)
    if (!g) {
      g = {
        visitors: 0,
        sessions: 0,
        pageviews: 0,
        bounces: 0,
        duration_ms: 0,
        orders: 0,
        revenue_cents: 0,
      }
      groups.set(value, g)
    }
    return g
  }
  for (const row of await sessionsByColumn(q, column, range)) {
    Object.assign(group(row.value), {
      visitors: row.visitors,
      sessions: row.sessions,
      pageviews: row.pageviews,
      bounces: row.bounces,
      duration_ms: row.duration_ms,
    })
  }
  for (const row of await ordersByColumn(q, column, range)) {
    Object.assign(group(row.value), { orders: row.orders, revenue_cents: row.revenue_cents })
  }
  return [...groups]
    .sort(([a, ga], [b, gb]) =>
      a === null ? 1 : b === null ? -1 : gb.sessions - ga.sessions || byteOrder(a, b),
    )
    .map(([value, g]) => ({ value: value ?? NO_SESSION, figures: groupFigures(g) }))
}

/** The period's metrics and its rows by `dimension` (none without one), in one snapshot `q`. */
async function periodReport(
  q: Queries,
  store: Store,
  period: Period,
  dimension: ReportDimension | null,
): Promise<{ data: Metrics; rows: { value: string; figures: ReportFigures }[] }> {
  const { metrics, days } = await periodFigures(q, store, period)
  if (dimension === null) return { data: metrics, rows: [] }
  if (dimension === 'day') {
    return { data: metrics, rows: days.map((d) => ({ value: d.date, figures: groupFigures(d) })) }
  }
  return { data: metrics, rows: await columnRows(q, store, period, dimension) }
}

const ZERO: ReportFigures = {
  visitors: 0,
  sessions: 0,
  pageviews: 0,
  bounce_rate: 0,
  avg_session_duration_seconds: 0,
  successful_orders: 0,
  revenue: 0,
  conversion_rate: 0,
}

/** A row's object: its key column, its figures, and the paired previous row's. */
function rowOf(
  key: string,
  value: string,
  figures: ReportFigures,
  previous?: { key?: string; value?: string; figures: ReportFigures },
): ReportRow {
  const row: ReportRow = { [key]: value, ...figures }
  if (previous) {
    if (previous.key !== undefined) row[`previous_${previous.key}`] = previous.value ?? ''
    for (const f of REPORT_FIGURES) row[`previous_${f}`] = previous.figures[f]
  }
  return row
}

/**
 * The rows with the comparison's beside them: day rows paired by position (the n-th day with the
 * comparison's n-th day, named in `previous_date`), other dimensions by value (a value only one
 * side has gets zeros on the other; values only the comparison has come after the others).
 */
function pairRows(
  dimension: ReportDimension,
  rows: { value: string; figures: ReportFigures }[],
  previous: { value: string; figures: ReportFigures }[] | null,
): ReportRow[] {
  const key = keyColumn(dimension)
  if (previous === null) return rows.map((r) => rowOf(key, r.value, r.figures))
  if (dimension === 'day') {
    return rows.map((r, i) =>
      rowOf(key, r.value, r.figures, {
        key,
        value: previous[i]!.value,
        figures: previous[i]!.figures,
      }),
    )
  }
  const before = new Map(previous.map((r) => [r.value, r.figures]))
  const out = rows.map((r) =>
    rowOf(key, r.value, r.figures, { figures: before.get(r.value) ?? ZERO }),
  )
  const seen = new Set(rows.map((r) => r.value))
  for (const r of previous) {
    if (!seen.has(r.value)) out.push(rowOf(key, r.value, ZERO, { figures: r.figures }))
  }
  return out
}

/** The column heads of a report's rows. */
function columnsOf(dimension: ReportDimension | null, compare: boolean): string[] {
  if (dimension === null) return []
  const key = keyColumn(dimension)
  const columns = [key, ...REPORT_FIGURES]
  if (!compare) return columns
  return [
    ...columns,
    ...(dimension === 'day' ? [`previous_${key}`] : []),
    ...REPORT_FIGURES.map((f) => `previous_${f}`),
  ]
}

/**
 * Computes a report of `period` (and its comparison) in one read-only transaction: the figures
 * the sync gives for the same days, never stored.
 */
export async function computeReport(
  data: Data,
  store: Store,
  settings: Pick<StoreSettings, 'currency'>,
  period: Period,
  options: { dimension?: ReportDimension | null; compare?: Comparison | null } = {},
): Promise<Report> {
  const dimension = options.dimension ?? null
  const compared = options.compare ? comparisonPeriod(period, options.compare) : null
  return data.tx(
    async (q) => {
      const current = await periodReport(q, store, period, dimension)
      const before = compared ? await periodReport(q, store, compared, dimension) : null
      return {
        period,
        currency: settings.currency,
        data: current.data,
        dimension,
        columns: columnsOf(dimension, compared !== null),
        rows: dimension ? pairRows(dimension, current.rows, before?.rows ?? null) : [],
        comparison: compared && before ? { period: compared, data: before.data } : null,
      }
    },
    { readOnly: true },
  )
}

/** The report asked for by `request` at the clock's time, for a store with these settings. */
export function buildReport(
  data: Data,
  store: Store,
  settings: Pick<StoreSettings, 'currency' | 'timezone'>,
  request: ReportRequest & { format?: ReportFormat },
  clock: Clock,
): Promise<Report> {
  const period = reportPeriod(request, settings.timezone, clock.now())
  // CSV and NDJSON are rows: by day unless asked otherwise.
  const dimension =
    request.dimension ?? (request.format && request.format !== 'json' ? 'day' : null)
  return computeReport(data, store, settings, period, { dimension, compare: request.compare })
}

/** The JSON body of a report. */
export function reportJson(report: Report): string {
  const body: ReportBody = {
    success: true,
    period: periodJson(report.period),
    currency: report.currency,
    data: report.data,
  }
  if (report.comparison) {
    body.comparison = { period: periodJson(report.comparison.period), data: report.comparison.data }
  }
  if (report.dimension) {
    body.dimension = report.dimension
    body.rows = report.rows
  }
  return JSON.stringify(body)
}

/**
 * A text cell as a spreadsheet may safely open it: one starting with `=`, `+`, `-`, `@`, a tab
 * or a carriage return would be read as a formula (CSV injection, OWASP), so it gets a `'` in
 * front, which spreadsheets show as text. Landing pages come from storefront visitors.
 */
export function spreadsheetSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF. */
function csvField(value: string | number): string {
  const text = typeof value === 'number' ? String(value) : spreadsheetSafe(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * The rows as CSV (RFC 4180: CRLF line ends, fields quoted where needed), a header row first;
 * numbers as in JSON (`.` decimals, no thousands separators), text cells spreadsheet-safe.
 */
export function reportCsv(report: Report): string {
  const lines = [report.columns.map(csvField).join(',')]
  for (const row of report.rows) lines.push(report.columns.map((c) => csvField(row[c]!)).join(','))
  return `${lines.join('\r\n')}\r\n`
}

/** The rows as NDJSON: one JSON object a line. */
export function reportNdjson(report: Report): string {
  return report.rows.map((row) => `${JSON.stringify(row)}\n`).join('')
}

/** A report file's name: `<store slug>-<first day>_<last day>.<ext>` (one day: its date). */
export function reportFilename(store: Pick<Store, 'slug'>, period: Period, ext: string): string {
  return `${store.slug}-${period.label.replace('/', '_')}.${ext}`
}
