// The sync API's call log (`sync_requests`) as the settings page reads it. It is written in
// batches by the engine-specific writer (src/db/sqlite/callLog.ts).
import type { Queries } from './data.ts'

/** A logged call with the name and prefix of the key that made it. */
export interface SyncRequestRow {
  store_id: number | null
  at: number
  key_id: number | null
  address: string | null
  status: number
  duration_ms: number
  error: string | null
  count: number
  key_name: string | null
  key_prefix: string | null
}

/**
 * The latest calls of a store's sync API, newest first; with `serverWide`, the calls without a
 * valid key (they belong to no store) among them.
 */
export function recentSyncRequestRows(
  q: Queries,
  storeId: number,
  limit: number,
  serverWide: boolean,
): Promise<SyncRequestRow[]> {
  const where = serverWide ? '(r.store_id = ? OR r.store_id IS NULL)' : 'r.store_id = ?'
  return q.all<SyncRequestRow>(
    `SELECT r.store_id, r.at, r.key_id, r.address, r.status, r.duration_ms, r.error, r.count,
       k.name AS key_name, k.prefix AS key_prefix
     FROM sync_requests r LEFT JOIN api_keys k ON k.id = r.key_id
     WHERE ${where}
     ORDER BY r.at DESC, r.id DESC LIMIT ?`,
    storeId,
    limit,
  )
}

/**
 * Deletes the calls logged before `?`. Calls are appended in time order, so they go by id: from
 * the first call at or after that time (found scanning from the oldest) back.
 */
export const PRUNE_CALL_LOG_SQL = `DELETE FROM sync_requests WHERE id < coalesce(
   (SELECT id FROM sync_requests WHERE at >= ? ORDER BY id LIMIT 1),
   (SELECT coalesce(max(id), 0) + 1 FROM sync_requests))`
