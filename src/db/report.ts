// The report's breakdowns of a range by a session column (device, source, landing page): the
// sessions started in the range grouped by that column, and the range's successful orders
// grouped by the column of the session they name. The day breakdown is the sync's own
// computation (src/domain/metrics.ts), not read here.
import type { Queries } from './data.ts'
import type { StoreRange } from './metrics.ts'

/** The session columns a report can break a range down by. */
export type SessionColumn = 'device' | 'source' | 'landing_page'

/** An order counts when it is real, not cancelled, and its payment did not lapse (as metrics.ts). */
const SUCCESSFUL = `o.test = 0 AND o.cancelled_at IS NULL
  AND coalesce(o.financial_status, '') NOT IN ('voided', 'expired')`

const sessionsBy = (column: SessionColumn) => `
SELECT ${column} AS value,
  count(*) AS sessions,
  count(DISTINCT visitor_id) AS visitors,
  coalesce(sum(pageviews), 0) AS pageviews,
  count(*) FILTER (WHERE pageviews <= 1) AS bounces,
  coalesce(sum(ended_at - started_at), 0) AS duration_ms
FROM sessions
WHERE store_id = ? AND started_at >= ? AND started_at < ?
GROUP BY ${column}`

// An order with no session, or naming a session this store does not have, has no value (NULL).
const ordersBy = (column: SessionColumn) => `
SELECT s.${column} AS value,
  count(*) AS orders,
  coalesce(sum(o.total_price_cents), 0) AS revenue_cents
FROM orders o
LEFT JOIN sessions s ON s.store_id = o.store_id AND s.id = o.session_id
WHERE o.store_id = ? AND o.created_at >= ? AND o.created_at < ? AND ${SUCCESSFUL}
GROUP BY s.${column}`

/** The statements of each column, written once (the column is never taken from a request). */
const STATEMENTS: Record<SessionColumn, { sessions: string; orders: string }> = {
  device: { sessions: sessionsBy('device'), orders: ordersBy('device') },
  source: { sessions: sessionsBy('source'), orders: ordersBy('source') },
  landing_page: { sessions: sessionsBy('landing_page'), orders: ordersBy('landing_page') },
}

/** The sessions of a range that share one value of a column. */
export interface SessionGroupRow {
  value: string
  sessions: number
  visitors: number
  pageviews: number
  bounces: number
  duration_ms: number
}

/** The successful orders of a range whose session has one value of a column (null: none known). */
export interface OrderGroupRow {
  value: string | null
  orders: number
  revenue_cents: number
}

/** The range's sessions grouped by `column`, in no particular order. */
export function sessionsByColumn(
  q: Queries,
  column: SessionColumn,
  r: StoreRange,
): Promise<SessionGroupRow[]> {
  return q.all<SessionGroupRow>(STATEMENTS[column].sessions, r.storeId, r.from, r.to)
}

/** The range's successful orders grouped by their session's `column`, in no particular order. */
export function ordersByColumn(
  q: Queries,
  column: SessionColumn,
  r: StoreRange,
): Promise<OrderGroupRow[]> {
  return q.all<OrderGroupRow>(STATEMENTS[column].orders, r.storeId, r.from, r.to)
}
