// The metrics of a period: the product's heaviest reads, over `sessions`, `visitors` and `orders`.
// Each statement searches an index by store and time (test/domain/queryPlans.test.ts checks the
// plans); the domain (src/domain/metrics.ts) runs them in one read-only transaction and words
// the figures.

import { byteOrder } from '../lib/byteOrder.ts'
import type { Queries } from './data.ts'

/** An order counts when it is real, not cancelled, and its payment did not lapse. */
const SUCCESSFUL = `o.test = 0 AND o.cancelled_at IS NULL
  AND coalesce(o.financial_status, '') NOT IN ('voided', 'expired')`

const HAS_ORDER = `EXISTS (SELECT 1 FROM orders o WHERE o.store_id = s.store_id AND o.session_id = s.id
  AND ${SUCCESSFUL})`

// Everything additive about the sessions started in a range, from the covering index on start
// time (migration 9): one contiguous read of the index, no sort. A period's figures are the sums
// of its days' rows.
const SESSION_SUMS = `
SELECT count(*) AS sessions,
  coalesce(sum(pageviews), 0) AS pageviews,
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

// Who came and where they landed, from the same index: counted in sessionSpread.
const SESSION_VISITS = `
SELECT visitor_id, landing_page
FROM sessions
WHERE store_id = ? AND started_at >= ? AND started_at < ?`

/** The statements computing metrics, each given (store id, from, to), so tests can check their plans. */
export const METRIC_QUERIES = {
  SESSION_SUMS,
  NEW_VISITORS,
  ORDER_TOTALS,
  SESSION_VISITS,
} as const

/** The sessions started in a time range, summed. */
export interface SessionSumsRow {
  sessions: number
  pageviews: number
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
interface LandingPageRow {
  path: string
  sessions: number
}

/** The distinct visitors of a range and of each of its parts, and its top landing pages. */
export interface SessionSpread {
  visitors: number
  /** Distinct visitors of each part, in order. */
  partVisitors: number[]
  /** The ten landing pages most sessions started on, most first, then by path. */
  topLandingPages: LandingPageRow[]
}

/** A time range of a store, in epoch milliseconds: from (included) to (excluded). */
export interface StoreRange {
  storeId: number
  from: number
  to: number
}

/** The sessions started in the range, summed (sessions, funnel, devices, sources). */
export async function sessionSums(q: Queries, r: StoreRange): Promise<SessionSumsRow> {
  return (await q.get<SessionSumsRow>(SESSION_SUMS, r.storeId, r.from, r.to))!
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

/**
 * Distinct visitors of the range from `bounds[0]` to the last bound and of each part between two
 * bounds (a period and its days), and the range's top landing pages: one read of each part's
 * sessions, counted here. SQLite's `count(DISTINCT)` and `GROUP BY` sort their rows in a
 * temporary b-tree; a hash set counts the same rows about twice as fast (bench/RESULTS.md).
 */
export async function sessionSpread(
  q: Queries,
  storeId: number,
  bounds: number[],
): Promise<SessionSpread> {
  // Rows come in start order, part after part, so a visitor's parts come in order too:
  // remembering the last part each visitor was counted in counts them once per part and once
  // overall, one lookup a row. Read part by part, so that memory holds one part's rows (a year
  // of `stats` is 365 reads, not every session of the year at once).
  const lastPart = new Map<string, number>()
  const pages = new Map<string, number>()
  const partVisitors: number[] = []
  for (let part = 0; part + 1 < bounds.length; part++) {
    const rows = await q.values<[string, string]>(
      SESSION_VISITS,
      storeId,
      bounds[part]!,
      bounds[part + 1]!,
    )
    let visitors = 0
    for (const [visitor, page] of rows) {
      if (lastPart.get(visitor) !== part) {
        lastPart.set(visitor, part)
        visitors++
      }
      pages.set(page, (pages.get(page) ?? 0) + 1)
    }
    partVisitors.push(visitors)
  }
  const topLandingPages = [...pages]
    .sort(([pathA, a], [pathB, b]) => b - a || byteOrder(pathA, pathB))
    .slice(0, 10)
    .map(([path, sessions]) => ({ path, sessions }))
  return { visitors: lastPart.size, partVisitors, topLandingPages }
}
