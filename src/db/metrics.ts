// The metrics of a period: the product's heaviest reads, over `sessions`, `visitors` and `orders`.
// Each statement searches an index by store and time (test/domain/queryPlans.test.ts checks the
// plans); the domain (src/domain/metrics.ts) runs them in one read-only transaction and words
// the figures.
import type { Queries } from './data.ts'

/** An order counts when it is real, not cancelled, and its payment did not lapse. */
const SUCCESSFUL = `o.test = 0 AND o.cancelled_at IS NULL
  AND coalesce(o.financial_status, '') NOT IN ('voided', 'expired')`

const HAS_ORDER = `EXISTS (SELECT 1 FROM orders o WHERE o.store_id = s.store_id AND o.session_id = s.id
  AND ${SUCCESSFUL})`

const SESSION_TOTALS = `
SELECT count(*) AS sessions,
  coalesce(sum(pageviews), 0) AS pageviews,
  count(DISTINCT visitor_id) AS visitors,
  count(*) FILTER (WHERE pageviews <= 1) AS bounces,
  coalesce(sum(ended_at - started_at), 0) AS duration_ms,
  coalesce(sum(viewed_product), 0) AS viewed_product,
  coalesce(sum(added_to_cart), 0) AS added_to_cart,
  coalesce(sum(reached_checkout), 0) AS reached_checkout,
  count(*) FILTER (WHERE added_to_cart = 1 AND reached_checkout = 0 AND NOT ${HAS_ORDER}) AS abandoned_carts,
  count(*) FILTER (WHERE reached_checkout = 1 AND NOT ${HAS_ORDER}) AS abandoned_checkouts,
  count(*) FILTER (WHERE device = 'desktop') AS desktop,
  count(*) FILTER (WHERE device = 'mobile') AS mobile,
  count(*) FILTER (WHERE device = 'tablet') AS tablet,
  count(*) FILTER (WHERE source = 'direct') AS direct,
  count(*) FILTER (WHERE source = 'organic') AS organic,
  count(*) FILTER (WHERE source = 'paid') AS paid,
  count(*) FILTER (WHERE source = 'referral') AS referral
FROM sessions s
WHERE s.store_id = ? AND s.started_at >= ? AND s.started_at < ?`

// A visitor is new in the period holding their first session ever (kept exact by writeSessions).
const NEW_VISITORS = `
SELECT count(*) AS new_visitors
FROM visitors WHERE store_id = ? AND first_seen_at >= ? AND first_seen_at < ?`

const ORDER_TOTALS = `
SELECT count(*) AS orders, coalesce(sum(o.total_price_cents), 0) AS revenue_cents
FROM orders o
WHERE o.store_id = ? AND o.created_at >= ? AND o.created_at < ? AND ${SUCCESSFUL}`

const LANDING_PAGES = `
SELECT landing_page AS path, count(*) AS sessions
FROM sessions
WHERE store_id = ? AND started_at >= ? AND started_at < ?
GROUP BY landing_page
ORDER BY sessions DESC, path ASC
LIMIT 10`

const DAY_SESSIONS = `
SELECT count(*) AS sessions, count(DISTINCT visitor_id) AS visitors
FROM sessions WHERE store_id = ? AND started_at >= ? AND started_at < ?`

/** The statements computing metrics, each given (store id, from, to), so tests can check their plans. */
export const METRIC_QUERIES = {
  SESSION_TOTALS,
  NEW_VISITORS,
  ORDER_TOTALS,
  LANDING_PAGES,
  DAY_SESSIONS,
} as const

/** The sessions started in a time range, summed. */
export interface SessionTotalsRow {
  sessions: number
  pageviews: number
  visitors: number
  bounces: number
  duration_ms: number
  viewed_product: number
  added_to_cart: number
  reached_checkout: number
  abandoned_carts: number
  abandoned_checkouts: number
  desktop: number
  mobile: number
  tablet: number
  direct: number
  organic: number
  paid: number
  referral: number
}

/** The successful orders created in a time range. */
export interface OrderTotalsRow {
  orders: number
  revenue_cents: number
}

/** A landing page and the sessions that started on it. */
export interface LandingPageRow {
  path: string
  sessions: number
}

/** One day's sessions and visitors. */
export interface DaySessionsRow {
  sessions: number
  visitors: number
}

/** A time range of a store, in epoch milliseconds: from (included) to (excluded). */
export interface StoreRange {
  storeId: number
  from: number
  to: number
}

/** The sessions started in the range, summed (sessions, visitors, funnel, devices, sources). */
export async function sessionTotals(q: Queries, r: StoreRange): Promise<SessionTotalsRow> {
  return (await q.get<SessionTotalsRow>(SESSION_TOTALS, r.storeId, r.from, r.to))!
}

/** How many visitors had their first session ever in the range. */
export async function newVisitors(q: Queries, r: StoreRange): Promise<number> {
  const row = await q.get<{ new_visitors: number }>(NEW_VISITORS, r.storeId, r.from, r.to)
  return row!.new_visitors
}

/** The successful orders created in the range: how many, and their revenue in cents. */
export async function orderTotals(q: Queries, r: StoreRange): Promise<OrderTotalsRow> {
  return (await q.get<OrderTotalsRow>(ORDER_TOTALS, r.storeId, r.from, r.to))!
}

/** The ten landing pages most sessions of the range started on, most first. */
export function topLandingPages(q: Queries, r: StoreRange): Promise<LandingPageRow[]> {
  return q.all<LandingPageRow>(LANDING_PAGES, r.storeId, r.from, r.to)
}

/** The sessions and distinct visitors of the range (one day of the chart). */
export async function daySessions(q: Queries, r: StoreRange): Promise<DaySessionsRow> {
  return (await q.get<DaySessionsRow>(DAY_SESSIONS, r.storeId, r.from, r.to))!
}
