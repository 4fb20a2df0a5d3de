import type { Database } from '../db/database.ts'

/** One call of the sync API, as logged. */
export interface SyncRequestEntry {
  storeId: number | null
  at: number
  keyId: number | null
  address: string | null
  status: number
  durationMs: number
  error: string | null
}

/** Appends a call of the sync API to the log. */
export function logSyncRequest(db: Database, e: SyncRequestEntry): void {
  db.query(
    `INSERT INTO sync_requests (store_id, at, key_id, address, status, duration_ms, error)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.storeId, e.at, e.keyId, e.address, e.status, e.durationMs, e.error)
}

/** A logged call with the name of the key that made it. */
export interface SyncRequestView extends SyncRequestEntry {
  keyName: string | null
  keyPrefix: string | null
}

/** The latest calls of the sync API, newest first (calls without a valid key included). */
export function recentSyncRequests(db: Database, storeId: number, limit = 20): SyncRequestView[] {
  return (
    db
      .query(
        `SELECT r.store_id, r.at, r.key_id, r.address, r.status, r.duration_ms, r.error,
           k.name AS key_name, k.prefix AS key_prefix
         FROM sync_requests r LEFT JOIN api_keys k ON k.id = r.key_id
         WHERE r.store_id = ? OR r.store_id IS NULL
         ORDER BY r.at DESC, r.id DESC LIMIT ?`,
      )
      .all(storeId, limit) as {
      store_id: number | null
      at: number
      key_id: number | null
      address: string | null
      status: number
      duration_ms: number
      error: string | null
      key_name: string | null
      key_prefix: string | null
    }[]
  ).map((r) => ({
    storeId: r.store_id,
    at: r.at,
    keyId: r.key_id,
    address: r.address,
    status: r.status,
    durationMs: r.duration_ms,
    error: r.error,
    keyName: r.key_name,
    keyPrefix: r.key_prefix,
  }))
}
