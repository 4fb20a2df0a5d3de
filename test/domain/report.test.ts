import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { parse } from 'csv-parse/sync'
import { dayRange, type Period, periodJson } from '../../src/domain/periods.ts'
import {
  comparisonPeriod,
  computeReport,
  NO_SESSION,
  type Report,
  type ReportDimension,
  reportCsv,
  reportNdjson,
  reportPeriod,
  spreadsheetSafe,
} from '../../src/domain/report.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { syncPeriod } from '../../src/domain/sync.ts'
import { DST_WEEK, QUOTED_PAGE, seedDstWeek } from '../reportData.ts'
import { openTestStore, type TestStore } from '../utils.ts'

const NY = 'America/New_York'
const date = (d: string) => Temporal.PlainDate.from(d)
const range = (from: string, to: string) => dayRange(date(from), date(to), NY)
const at = (iso: string) => Temporal.Instant.from(iso)

let t: TestStore

beforeEach(async () => {
  t = await openTestStore('2026-11-26T06:00:00Z')
  await updateSettings(t.data, t.store, { timezone: NY, currency: 'USD' }, t.clock)
  await seedDstWeek(t.data, t.store, t.clock)
})
afterEach(() => t.close())

const report = async (
  period: Period,
  dimension: ReportDimension | null = null,
  compare: 'previous_period' | 'previous_year' | null = null,
) =>
  computeReport(t.data, t.store, await readSettings(t.data, t.store), period, {
    dimension,
    compare,
  })

/** The sync of the period holding `day`, as stored: its body parsed. */
async function syncOf(frequency: 'daily' | 'weekly', day: string) {
  const result = await syncPeriod(
    t.data,
    t.store,
    { frequency, date: date(day), trigger: 'cli', strictFrequency: false },
    t.clock,
  )
  return JSON.parse(result.body) as { period: unknown; data: unknown }
}

describe('the range', () => {
  const now = at('2026-11-26T06:00:00Z') // 01:00 on 2026-11-26 in New York

  test('defaults: to = yesterday, from = 29 days before to (30 days)', () => {
    const p = reportPeriod({}, NY, now)
    expect(p.label).toBe('2026-10-27/2026-11-25')
    expect(p.days).toHaveLength(30)
    expect(reportPeriod({ to: date('2026-11-10') }, NY, now).label).toBe('2026-10-12/2026-11-10')
    expect(reportPeriod({ from: date('2026-11-20') }, NY, now).label).toBe('2026-11-20/2026-11-25')
  })

  test('today may end the range (counted so far); tomorrow may not', () => {
    const p = reportPeriod({ from: date('2026-11-26'), to: date('2026-11-26') }, NY, now)
    expect(periodJson(p)).toEqual({
      start: '2026-11-26T00:00:00-05:00',
      end: '2026-11-27T00:00:00-05:00',
      label: '2026-11-26',
      timezone: NY,
    })
    expect(() => reportPeriod({ to: date('2026-11-27') }, NY, now)).toThrow(
      'to (2026-11-27) is after today (2026-11-26 in America/New_York)',
    )
    // `from` alone of today: today so far (not "from is after to", with to yesterday).
    expect(reportPeriod({ from: date('2026-11-26') }, NY, now).label).toBe('2026-11-26')
    expect(() => reportPeriod({ from: date('2026-11-27') }, NY, now)).toThrow(
      'to (2026-11-27) is after today (2026-11-26 in America/New_York)',
    )
  })

  test('at most 400 days; from after to is refused', () => {
    expect(
      reportPeriod({ from: date('2025-10-22'), to: date('2026-11-25') }, NY, now).days,
    ).toHaveLength(400)
    expect(() =>
      reportPeriod({ from: date('2025-10-21'), to: date('2026-11-25') }, NY, now),
    ).toThrow('The range 2025-10-21 to 2026-11-25 is 401 days: a report covers at most 400')
    expect(() =>
      reportPeriod({ from: date('2026-11-02'), to: date('2026-11-01') }, NY, now),
    ).toThrow('from (2026-11-02) is after to (2026-11-01)')
  })
})

describe('comparison periods', () => {
  const cases: [string, string, 'previous_period' | 'previous_year', object][] = [
    // The DST week against the week before, and against 52 weeks earlier (which holds 2025's
    // end of daylight time: its Sunday has 25 hours too).
    [
      DST_WEEK.from,
      DST_WEEK.to,
      'previous_period',
      {
        start: '2026-10-19T00:00:00-04:00',
        end: '2026-10-26T00:00:00-04:00',
        label: '2026-10-19/2026-10-25',
        timezone: NY,
      },
    ],
    [
      DST_WEEK.from,
      DST_WEEK.to,
      'previous_year',
      {
        start: '2025-10-27T00:00:00-04:00',
        end: '2025-11-03T00:00:00-05:00',
        label: '2025-10-27/2025-11-02',
        timezone: NY,
      },
    ],
    // Around 2028-02-29: 364 days back from a Sunday is a Sunday, 2027 has no 29th.
    [
      '2028-02-27',
      '2028-03-02',
      'previous_year',
      {
        start: '2027-02-28T00:00:00-05:00',
        end: '2027-03-05T00:00:00-05:00',
        label: '2027-02-28/2027-03-04',
        timezone: NY,
      },
    ],
    [
      '2028-03-01',
      '2028-03-05',
      'previous_period',
      {
        start: '2028-02-25T00:00:00-05:00',
        end: '2028-03-01T00:00:00-05:00',
        label: '2028-02-25/2028-02-29',
        timezone: NY,
      },
    ],
    [
      '2028-02-27',
      '2028-03-02',
      'previous_period',
      {
        start: '2028-02-22T00:00:00-05:00',
        end: '2028-02-27T00:00:00-05:00',
        label: '2028-02-22/2028-02-26',
        timezone: NY,
      },
    ],
  ]
  test.each(cases)('%s..%s against %s', (from, to, compare, expected) => {
    const before = comparisonPeriod(range(from, to), compare)
    expect(periodJson(before)).toEqual(expected as ReturnType<typeof periodJson>)
    expect(before.days).toHaveLength(range(from, to).days.length)
    if (compare === 'previous_year') {
      expect(before.days.map((d) => d.dayOfWeek)).toEqual(
        range(from, to).days.map((d) => d.dayOfWeek),
      )
    }
  })
})

describe("the report's figures are the sync's", () => {
  test('a weekly period holding the end of DST: data and period byte for byte', async () => {
    await updateSettings(t.data, t.store, { sync_frequency: 'weekly' }, t.clock)
    const sync = await syncOf('weekly', '2026-10-28')
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), 'day')
    expect(JSON.stringify(r.data)).toBe(JSON.stringify(sync.data))
    expect(periodJson(r.period)).toEqual(sync.period as ReturnType<typeof periodJson>)
    expect(r.data.total_sessions).toBe(6)
  })

  test('a daily period: the 25-hour day', async () => {
    const sync = await syncOf('daily', '2026-11-01')
    const r = await report(range('2026-11-01', '2026-11-01'), 'day')
    expect(JSON.stringify(r.data)).toBe(JSON.stringify(sync.data))
    expect(r.rows).toEqual([
      {
        date: '2026-11-01',
        visitors: 2,
        sessions: 3,
        pageviews: 6,
        bounce_rate: 0.3333,
        avg_session_duration_seconds: 50,
        successful_orders: 2,
        revenue: 20.09,
        conversion_rate: 0.6667,
      },
    ])
  })

  test("the comparison's data is the sync of the comparison period", async () => {
    await updateSettings(t.data, t.store, { sync_frequency: 'weekly' }, t.clock)
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), null, 'previous_year')
    const sync = await syncOf('weekly', '2025-10-27')
    expect(JSON.stringify(r.comparison?.data)).toBe(JSON.stringify(sync.data))
    expect(r.comparison?.data.total_sessions).toBe(1)
    expect(r.rows).toEqual([])
    expect(r.columns).toEqual([])
  })
})

/** A row's additive figures summed: sessions, pageviews, orders, revenue in cents. */
function sums(rows: Report['rows']) {
  const zero = { sessions: 0, pageviews: 0, orders: 0, cents: 0 }
  return rows.reduce<typeof zero>(
    (s, r) => ({
      sessions: s.sessions + (r.sessions as number),
      pageviews: s.pageviews + (r.pageviews as number),
      orders: s.orders + (r.successful_orders as number),
      cents: s.cents + Math.round((r.revenue as number) * 100),
    }),
    zero,
  )
}

describe('rows add up to the range', () => {
  test.each(['day', 'device', 'source', 'landing_page'] as const)('by %s', async (dimension) => {
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), dimension)
    expect(sums(r.rows)).toEqual({
      sessions: r.data.total_sessions,
      pageviews: r.data.total_pageviews,
      orders: r.data.successful_orders,
      cents: Math.round(r.data.total_revenue * 100),
    })
    // 6 sessions, 13 pageviews; orders o1 o2 o3 o4 o7 (o5 is a test, o6 cancelled): 87.60.
    expect(sums(r.rows)).toEqual({ sessions: 6, pageviews: 13, orders: 5, cents: 8760 })
  })

  test('day rows: every day of the week, in order, as the sync words its daily rows', async () => {
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), 'day')
    expect(r.rows.map((row) => row.date)).toEqual(r.data.daily.map((d) => d.date))
    expect(
      r.rows.map((row) => [row.visitors, row.sessions, row.successful_orders, row.revenue]),
    ).toEqual(r.data.daily.map((d) => [d.visitors, d.sessions, d.successful_orders, d.revenue]))
  })

  test('device rows: orders go to their session (even one started before the range), the rest to (none)', async () => {
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), 'device')
    expect(r.columns).toEqual([
      'device',
      'visitors',
      'sessions',
      'pageviews',
      'bounce_rate',
      'avg_session_duration_seconds',
      'successful_orders',
      'revenue',
      'conversion_rate',
    ])
    expect(r.rows).toEqual([
      {
        device: 'mobile',
        visitors: 2,
        sessions: 3,
        pageviews: 8,
        bounce_rate: 0.3333,
        avg_session_duration_seconds: 130,
        successful_orders: 2,
        revenue: 69.99,
        conversion_rate: 0.6667,
      },
      {
        device: 'desktop',
        visitors: 2,
        sessions: 2,
        pageviews: 3,
        bounce_rate: 0.5,
        avg_session_duration_seconds: 30,
        successful_orders: 1,
        revenue: 7.5,
        conversion_rate: 0.5,
      },
      {
        device: 'tablet',
        visitors: 1,
        sessions: 1,
        pageviews: 2,
        bounce_rate: 0,
        avg_session_duration_seconds: 120,
        successful_orders: 0,
        revenue: 0,
        conversion_rate: 0,
      },
      {
        device: NO_SESSION,
        visitors: 0,
        sessions: 0,
        pageviews: 0,
        bounce_rate: 0,
        avg_session_duration_seconds: 0,
        successful_orders: 2,
        revenue: 10.11,
        conversion_rate: 0,
      },
    ])
  })

  test("source rows follow the sync's sources counts", async () => {
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), 'source')
    const counts = Object.fromEntries(r.rows.map((row) => [row.source, row.sessions]))
    expect(counts).toEqual({ ...r.data.sources, [NO_SESSION]: 0 })
  })
})

describe('compared rows', () => {
  test('day rows pair by position, naming the compared day', async () => {
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), 'day', 'previous_period')
    expect(r.columns.slice(9)).toEqual([
      'previous_date',
      'previous_visitors',
      'previous_sessions',
      'previous_pageviews',
      'previous_bounce_rate',
      'previous_avg_session_duration_seconds',
      'previous_successful_orders',
      'previous_revenue',
      'previous_conversion_rate',
    ])
    expect(r.rows.map((row) => [row.date, row.previous_date])).toEqual(
      r.period.days.map((d, i) => [d.toString(), r.comparison?.period.days[i]?.toString()]),
    )
    // 2026-10-20 (a Tuesday) had w0 and its order o8.
    expect(r.rows[1]).toMatchObject({
      date: '2026-10-27',
      previous_date: '2026-10-20',
      previous_sessions: 1,
      previous_successful_orders: 1,
      previous_revenue: 12,
    })
  })

  test('other rows pair by value; a value only the comparison has comes last with zeros now', async () => {
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), 'landing_page', 'previous_year')
    expect(r.rows.map((row) => [row.landing_page, row.sessions, row.previous_sessions])).toEqual([
      ['/products/a', 2, 0],
      ['/', 1, 0],
      [QUOTED_PAGE, 1, 0],
      ['/x', 1, 0],
      ['/y', 1, 0],
      ['/old', 0, 0],
      [NO_SESSION, 0, 0],
      ['/last-year', 0, 1],
    ])
  })
})

describe('CSV and NDJSON', () => {
  test('RFC 4180, parsed back by csv-parse, equals the rows', async () => {
    for (const dimension of ['day', 'landing_page'] as const) {
      const r = await report(range(DST_WEEK.from, DST_WEEK.to), dimension, 'previous_period')
      const csv = reportCsv(r)
      expect(csv.endsWith('\r\n')).toBe(true)
      expect(csv.includes(`"${QUOTED_PAGE}"`)).toBe(dimension === 'landing_page')
      const parsed = parse(csv, {
        columns: true,
        cast: true,
        record_delimiter: '\r\n',
      }) as Record<string, unknown>[]
      expect(parsed).toEqual(r.rows)
      expect(Object.keys(parsed[0]!)).toEqual(r.columns)
    }
  })

  test('quoting of , " CR LF, UTF-8 text, and formula-looking cells made text', async () => {
    const r = await report(range('2026-11-01', '2026-11-01'), 'landing_page')
    const cell = (landing_page: string) => ({ ...r.rows[0]!, landing_page })
    const texts = [
      '=HYPERLINK("http://evil.example","x")',
      '+1',
      '-2',
      '@SUM(A1)',
      '\tx',
      '\rline',
      'a\nb',
      'a "quoted" word',
      '/ünïcödé, 東京',
    ]
    const hand: Report = { ...r, rows: texts.map(cell) }
    const csv = reportCsv(hand)
    const figures = ',1,1,1,1,0,0,0,0'
    expect(csv).toBe(
      [
        'landing_page,visitors,sessions,pageviews,bounce_rate,avg_session_duration_seconds,successful_orders,revenue,conversion_rate',
        `"'=HYPERLINK(""http://evil.example"",""x"")"${figures}`,
        `'+1${figures}`,
        `'-2${figures}`,
        `'@SUM(A1)${figures}`,
        `'\tx${figures}`,
        `"'\rline"${figures}`,
        `"a\nb"${figures}`,
        `"a ""quoted"" word"${figures}`,
        `"/ünïcödé, 東京"${figures}`,
        '',
      ].join('\r\n'),
    )
    const parsed = parse(csv, { columns: true, record_delimiter: '\r\n' }) as {
      landing_page: string
    }[]
    expect(parsed.map((row) => row.landing_page)).toEqual(texts.map(spreadsheetSafe))
  })

  test('NDJSON: one JSON object a line, the rows as they are', async () => {
    const r = await report(range(DST_WEEK.from, DST_WEEK.to), 'source')
    const lines = reportNdjson(r).split('\n')
    expect(lines.at(-1)).toBe('')
    expect(lines.slice(0, -1).map((l) => JSON.parse(l))).toEqual(r.rows)
  })

  test('spreadsheetSafe: = + - @ tab and CR make a cell text; anything else is kept', () => {
    expect(
      ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', '/a=b', 'a', ''].map(spreadsheetSafe),
    ).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", '/a=b', 'a', ''])
  })
})
