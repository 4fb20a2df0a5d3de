// Query module of `sessions`: the columns a session row is written with, the reads the tracker,
// order attribution and the tracking counter make. The bulk writers are engine-specific
// (sqlite/sessionWriters.ts, sqlite/bulkLoad.ts).
import type { SessionRecord } from '../domain/records.ts'
import type { Queries } from './data.ts'

/** The fields of a session row (sessionRows), in order; each is also its column's name. */
export const SESSION_ROW_FIELDS = [
  'id',
  'visitor_id',
  'started_at',
  'ended_at',
  'pageviews',
  'device',
  'source',
  'landing_page',
  'viewed_product',
  'added_to_cart',
  'reached_checkout',
] as const satisfies readonly (keyof SessionRecord)[]

/** A session as stored: its flags are 0 or 1. */
export interface SessionRow
  extends Omit<SessionRecord, 'viewed_product' | 'added_to_cart' | 'reached_checkout'> {
  viewed_product: number
  added_to_cart: number
  reached_checkout: number
}

/**
 * A visitor's latest session (by start), as a SessionRow. Parameters: store id, visitor id. The
 * start is found first on sessions_by_visitor: asked as one ORDER BY … LIMIT 1, the planner walks
 * the covering sessions_by_start back from the store's latest session instead, through every
 * session of the store for a new visitor (the tracker then managed ~500 events a second).
 */
export const LATEST_SESSION_SQL = `SELECT id, visitor_id, started_at, ended_at, pageviews, device, source,
         landing_page, viewed_product, added_to_cart, reached_checkout
       FROM sessions WHERE store_id = ?1 AND visitor_id = ?2
         AND started_at = (SELECT max(started_at) FROM sessions WHERE store_id = ?1 AND visitor_id = ?2)
       ORDER BY ended_at DESC, id DESC LIMIT 1`

/** The id of the visitor's latest session started at or before ?3 (see LATEST_SESSION_SQL). */
export const VISITOR_SESSION_AT_SQL = `SELECT id FROM sessions WHERE store_id = ?1 AND visitor_id = ?2
       AND started_at = (SELECT max(started_at) FROM sessions
         WHERE store_id = ?1 AND visitor_id = ?2 AND started_at <= ?3)
       ORDER BY ended_at DESC, id DESC LIMIT 1`

/** A stored session as the domain's record. */
export function sessionFromRow(row: SessionRow): SessionRecord {
  return {
    ...row,
    viewed_product: row.viewed_product === 1,
    added_to_cart: row.added_to_cart === 1,
    reached_checkout: row.reached_checkout === 1,
  }
}

/** The id of the visitor's latest session started at or before `at`, or null. */
export async function visitorSessionAt(
  q: Queries,
  storeId: number,
  visitorId: string,
  at: number,
): Promise<string | null> {
  const row = await q.get<{ id: string }>(VISITOR_SESSION_AT_SQL, storeId, visitorId, at)
  return row?.id ?? null
}

/** How many sessions of a store started in [start, end). */
export async function sessionsStartedBetween(
  q: Queries,
  storeId: number,
  start: number,
  end: number,
): Promise<number> {
  const row = await q.get<{ n: number }>(
    'SELECT count(*) AS n FROM sessions WHERE store_id = ? AND started_at >= ? AND started_at < ?',
    storeId,
    start,
    end,
  )
  return row?.n ?? 0
}
