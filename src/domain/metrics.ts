import type { Database } from '../db/database.ts'
import { type Period, startOfDay } from './periods.ts'

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

/** An order counts when it is real, not cancelled, and its payment did not lapse. */
const SUCCESSFUL = `o.test = 0 AND o.cancelled_at IS NULL
  AND coalesce(o.financial_status, '') NOT IN ('voided', 'expired')`

const HAS_ORDER = `EXISTS (SELECT 1 FROM orders o WHERE o.store_id = s.store_id AND o.session_id = s.id
  AND ${SUCCESSFUL})`

const SESSION_TOTALS = `
SELECT count(*) AS sessions,
  coalesce(sum(pageviews), 0) AS pageviews,
  count(DISTINCT visitor_id) AS visitors,
  coalesce(sum(pageviews <= 1), 0) AS bounces,
  coalesce(sum(ended_at - started_at), 0) AS duration_ms,
  coalesce(sum(viewed_product), 0) AS viewed_product,
  coalesce(sum(added_to_cart), 0) AS added_to_cart,
  coalesce(sum(reached_checkout), 0) AS reached_checkout,
  coalesce(sum(added_to_cart = 1 AND reached_checkout = 0 AND NOT ${HAS_ORDER}), 0) AS abandoned_carts,
  coalesce(sum(reached_checkout = 1 AND NOT ${HAS_ORDER}), 0) AS abandoned_checkouts,
  coalesce(sum(device = 'desktop'), 0) AS desktop,
  coalesce(sum(device = 'mobile'), 0) AS mobile,
  coalesce(sum(device = 'tablet'), 0) AS tablet,
  coalesce(sum(source = 'direct'), 0) AS direct,
  coalesce(sum(source = 'organic'), 0) AS organic,
  coalesce(sum(source = 'paid'), 0) AS paid,
  coalesce(sum(source = 'referral'), 0) AS referral
FROM sessions s
WHERE s.store_id = ?1 AND s.started_at >= ?2 AND s.started_at < ?3`

// A visitor is new in the period holding their first session ever (kept exact by writeSessions).
const NEW_VISITORS = `
SELECT count(*) AS new_visitors
FROM visitors WHERE store_id = ?1 AND first_seen_at >= ?2 AND first_seen_at < ?3`

const ORDER_TOTALS = `
SELECT count(*) AS orders, coalesce(sum(o.total_price_cents), 0) AS revenue_cents
FROM orders o
WHERE o.store_id = ?1 AND o.created_at >= ?2 AND o.created_at < ?3 AND ${SUCCESSFUL}`

const LANDING_PAGES = `
SELECT landing_page AS path, count(*) AS sessions
FROM sessions
WHERE store_id = ?1 AND started_at >= ?2 AND started_at < ?3
GROUP BY landing_page
ORDER BY sessions DESC, path ASC
LIMIT 10`

const DAY_SESSIONS = `
SELECT count(*) AS sessions, count(DISTINCT visitor_id) AS visitors
FROM sessions WHERE store_id = ?1 AND started_at >= ?2 AND started_at < ?3`

/** The statements computing metrics, so tests can check each one's query plan. */
export const METRIC_QUERIES = {
  SESSION_TOTALS,
  NEW_VISITORS,
  ORDER_TOTALS,
  LANDING_PAGES,
  DAY_SESSIONS,
} as const

/** Rounds half away from zero to `places` decimals, the way amounts are printed. */
export function round(value: number, places: number): number {
  const f = 10 ** places
  // 15 significant digits undo the binary error of the product (1.005 * 100 = 100.49999…).
  return Math.sign(value) * (Math.round(Number((Math.abs(value) * f).toPrecision(15))) / f)
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den)
const money = (cents: number): number => round(cents / 100, 2)

type Row = Record<string, number>

/**
 * Computes every metric of the period from sessions and orders. Reads in one transaction so that
 * concurrent imports never produce a mix of before and after.
 */
export function computeMetrics(db: Database, storeId: number, period: Period): Metrics {
  return db.transaction(() => {
    const range = [storeId, period.start.epochMilliseconds, period.end.epochMilliseconds] as const
    const s = db.query(SESSION_TOTALS).get(...range) as Row
    const { new_visitors } = db.query(NEW_VISITORS).get(...range) as Row
    const o = db.query(ORDER_TOTALS).get(...range) as Row
    const pages = db.query(LANDING_PAGES).all(...range) as { path: string; sessions: number }[]
    const daily = period.days.map((day) => {
      const from = startOfDay(day, period.timeZone).epochMilliseconds
      const to = startOfDay(day.add({ days: 1 }), period.timeZone).epochMilliseconds
      const ds = db.query(DAY_SESSIONS).get(storeId, from, to) as Row
      const dor = db.query(ORDER_TOTALS).get(storeId, from, to) as Row
      return {
        date: day.toString(),
        visitors: ds.visitors!,
        sessions: ds.sessions!,
        successful_orders: dor.orders!,
        revenue: money(dor.revenue_cents!),
      }
    })
    const sessions = s.sessions!
    const orders = o.orders!
    return {
      total_visitors: s.visitors!,
      new_visitors: new_visitors!,
      returning_visitors: s.visitors! - new_visitors!,
      total_sessions: sessions,
      total_pageviews: s.pageviews!,
      bounce_rate: round(ratio(s.bounces!, sessions), 4),
      avg_session_duration_seconds: round(ratio(s.duration_ms!, sessions) / 1000, 1),
      successful_orders: orders,
      total_revenue: money(o.revenue_cents!),
      average_order_value: money(ratio(o.revenue_cents!, orders)),
      conversion_rate: round(Math.min(1, ratio(orders, sessions)), 4),
      abandoned_carts: s.abandoned_carts!,
      abandoned_checkouts: s.abandoned_checkouts!,
      funnel: {
        sessions,
        viewed_product: s.viewed_product!,
        added_to_cart: s.added_to_cart!,
        reached_checkout: s.reached_checkout!,
        ordered: orders,
      },
      devices: { desktop: s.desktop!, mobile: s.mobile!, tablet: s.tablet! },
      sources: { direct: s.direct!, organic: s.organic!, paid: s.paid!, referral: s.referral! },
      top_landing_pages: pages,
      daily,
    }
  })()
}
