import type { Data, Queries } from '../db/data.ts'
import {
  newVisitors,
  type OrderTotalsRow,
  orderTotals,
  type SessionSumsRow,
  sessionSpread,
  sessionSums,
} from '../db/metrics.ts'
import { type Period, startOfDay } from './periods.ts'
import type { Store } from './stores.ts'

/** The `data` object of a sync: every metric of DESIGN.md for one period. */
export interface Metrics {
  total_visitors: number
  new_visitors: number
  returning_visitors: number
  total_sessions: number
  total_pageviews: number
  bounce_rate: number
  avg_session_duration_seconds: number
  successful_orders: number
  total_revenue: number
  average_order_value: number
  conversion_rate: number
  abandoned_carts: number
  abandoned_checkouts: number
  funnel: {
    sessions: number
    viewed_product: number
    added_to_cart: number
    reached_checkout: number
    ordered: number
  }
  devices: { desktop: number; mobile: number; tablet: number }
  sources: { direct: number; organic: number; paid: number; referral: number }
  top_landing_pages: { path: string; sessions: number }[]
  daily: {
    date: string
    visitors: number
    sessions: number
    successful_orders: number
    revenue: number
  }[]
}

/** Rounds half away from zero to `places` decimals, the way amounts are printed. */
export function round(value: number, places: number): number {
  const f = 10 ** places
  // 15 significant digits undo the binary error of the product (1.005 * 100 = 100.49999…).
  return Math.sign(value) * (Math.round(Number((Math.abs(value) * f).toPrecision(15))) / f)
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den)
const money = (cents: number): number => round(cents / 100, 2)

/**
 * Computes every metric of the period from sessions and orders. Reads in one read-only
 * transaction so that concurrent imports never produce a mix of before and after.
 */
export function computeMetrics(data: Data, store: Store, period: Period): Promise<Metrics> {
  return data.tx((q) => metricsOf(q, store, period), { readOnly: true })
}

/** One store day's figures as read for the sync's `daily` row, before they are worded. */
interface DayFigures {
  date: string
  visitors: number
  sessions: number
  pageviews: number
  bounces: number
  duration_ms: number
  orders: number
  revenue_cents: number
}

/** A period's metrics and the day figures its `daily` rows were worded from. */
export interface PeriodFigures {
  metrics: Metrics
  days: DayFigures[]
}

/**
 * Every metric of the period, read through `q` (inside the caller's read transaction). Additive
 * figures are read day by day and summed; the visitors (distinct per day and over the period)
 * and the landing pages come from one more read of the period's sessions, day by day.
 */
export async function metricsOf(q: Queries, store: Store, period: Period): Promise<Metrics> {
  return (await periodFigures(q, store, period)).metrics
}

/**
 * The period's metrics (`metricsOf`) together with each day's figures as read (the report's day
 * rows): one computation, so a report's days are the sync's.
 */
export async function periodFigures(
  q: Queries,
  store: Store,
  period: Period,
): Promise<PeriodFigures> {
  const storeId = store.id
  // The period's days, end to end: the first starts the period, the last ends it.
  const bounds = period.days.map((day) => startOfDay(day, period.timeZone).epochMilliseconds)
  bounds.push(period.end.epochMilliseconds)
  const range = { storeId, from: period.start.epochMilliseconds, to: period.end.epochMilliseconds }
  if (bounds[0] !== range.from) throw new Error('a period must start at the start of its first day')
  const daySums: SessionSumsRow[] = []
  const dayOrders: OrderTotalsRow[] = []
  for (let i = 0; i < period.days.length; i++) {
    const day = { storeId, from: bounds[i]!, to: bounds[i + 1]! }
    daySums.push(await sessionSums(q, day))
    dayOrders.push(await orderTotals(q, day))
  }
  const spread = await sessionSpread(q, storeId, bounds)
  const new_visitors = await newVisitors(q, range)
  const s = sumRows(daySums)
  const o = sumRows(dayOrders)
  const days: DayFigures[] = period.days.map((day, i) => ({
    date: day.toString(),
    visitors: spread.partVisitors[i]!,
    sessions: daySums[i]!.sessions,
    pageviews: daySums[i]!.pageviews,
    bounces: daySums[i]!.bounces,
    duration_ms: daySums[i]!.duration_ms,
    orders: dayOrders[i]!.orders,
    revenue_cents: dayOrders[i]!.revenue_cents,
  }))
  const daily: Metrics['daily'] = days.map((day) => ({
    date: day.date,
    visitors: day.visitors,
    sessions: day.sessions,
    successful_orders: day.orders,
    revenue: money(day.revenue_cents),
  }))
  const pages = spread.topLandingPages
  const sessions = s.sessions
  const orders = o.orders
  const rates = rateFigures({ ...s, ...o })
  const metrics: Metrics = {
    total_visitors: spread.visitors,
    new_visitors,
    returning_visitors: spread.visitors - new_visitors,
    total_sessions: sessions,
    total_pageviews: s.pageviews,
    bounce_rate: rates.bounce_rate,
    avg_session_duration_seconds: rates.avg_session_duration_seconds,
    successful_orders: orders,
    total_revenue: money(o.revenue_cents),
    average_order_value: money(ratio(o.revenue_cents, orders)),
    conversion_rate: rates.conversion_rate,
    abandoned_carts: s.abandoned_carts,
    abandoned_checkouts: s.abandoned_checkouts,
    funnel: {
      sessions,
      viewed_product: s.viewed_product,
      added_to_cart: s.added_to_cart,
      reached_checkout: s.reached_checkout,
      ordered: orders,
    },
    devices: { desktop: s.desktop, mobile: s.mobile, tablet: s.tablet },
    sources: { direct: s.direct, organic: s.organic, paid: s.paid, referral: s.referral },
    top_landing_pages: pages,
    daily,
  }
  return { metrics, days }
}

/** The additive figures a rate is worded from (a period's, a day's, a dimension value's). */
export interface RateInputs {
  sessions: number
  bounces: number
  duration_ms: number
  orders: number
  revenue_cents: number
}

/**
 * The rates and the revenue as the sync words them (DESIGN "Metric definitions"): bounce rate
 * and conversion 4 decimals, duration 1, money 2; a zero denominator gives 0.
 */
export function rateFigures(f: RateInputs): {
  bounce_rate: number
  avg_session_duration_seconds: number
  revenue: number
  conversion_rate: number
} {
  return {
    bounce_rate: round(ratio(f.bounces, f.sessions), 4),
    avg_session_duration_seconds: round(ratio(f.duration_ms, f.sessions) / 1000, 1),
    revenue: money(f.revenue_cents),
    conversion_rate: round(Math.min(1, ratio(f.orders, f.sessions)), 4),
  }
}

/** Rows of numbers added up field by field. */
function sumRows<Row extends { [Field in keyof Row]: number }>(rows: Row[]): Row {
  const total: Record<string, number> = {}
  for (const row of rows) {
    for (const [field, value] of Object.entries<number>(row)) {
      total[field] = (total[field] ?? 0) + value
    }
  }
  return total as Row
}
