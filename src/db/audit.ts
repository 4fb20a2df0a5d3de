// The audit log's statements (table audit_log). The domain's audit module clips and times entries;
// every action that is audited writes its entry through the same transaction handle as its change.
import type { AuditEntry } from '../domain/audit.ts'
import type { Queries } from './data.ts'

/** An entry as the domain hands it over: clipped, timed. */
export interface AuditRow {
  storeId: number | null
  at: number
  actor: string
  address: string | null
  action: string
  detail: string
}

/** The latest entry of an address, which a repeated event may be counted in. */
interface LatestRow {
  id: number
  action: string
  at: number
}

/** Appends one entry. */
export function insertAuditEntry(q: Queries, e: AuditRow): Promise<number> {
  return q.run(
    'INSERT INTO audit_log (store_id, at, actor, address, action, detail) VALUES (?, ?, ?, ?, ?, ?)',
    e.storeId,
    e.at,
    e.actor,
    e.address,
    e.action,
    e.detail,
  )
}

/** `store_id` matching a store, or the server-wide entries (null: logins, admins, stores). */
function ofStore(storeId: number | null): { clause: string; params: number[] } {
  return storeId === null
    ? { clause: 'store_id IS NULL', params: [] }
    : { clause: 'store_id = ?', params: [storeId] }
}

/** The newest entry of a store (null: server-wide) from an address (null: the command line). */
export function latestAuditEntryFrom(
  q: Queries,
  storeId: number | null,
  address: string | null,
): Promise<LatestRow | null> {
  const store = ofStore(storeId)
  // `address IS ?` is SQLite's alone; PostgreSQL's IS NOT DISTINCT FROM uses no index.
  if (address === null)
    return q.get<LatestRow>(
      `SELECT id, action, at FROM audit_log WHERE ${store.clause} AND address IS NULL
       ORDER BY id DESC LIMIT 1`,
      ...store.params,
    )
  return q.get<LatestRow>(
    `SELECT id, action, at FROM audit_log WHERE ${store.clause} AND address = ?
     ORDER BY id DESC LIMIT 1`,
    ...store.params,
    address,
  )
}

/** Counts one more occurrence of an entry. */
export function countAuditEntryAgain(q: Queries, id: number): Promise<number> {
  return q.run('UPDATE audit_log SET count = count + 1 WHERE id = ?', id)
}

/** Deletes the entries older than `before`; resolves to how many went. */
export function deleteAuditEntriesBefore(q: Queries, before: number): Promise<number> {
  return q.run('DELETE FROM audit_log WHERE at < ?', before)
}

/**
 * A store's most recent entries, newest first; with `serverWide`, the entries of no store
 * (logins, admins, stores created and deleted) among them.
 */
export function recentAuditEntries(
  q: Queries,
  storeId: number,
  limit: number,
  serverWide: boolean,
): Promise<AuditEntry[]> {
  const where = serverWide ? '(store_id = ? OR store_id IS NULL)' : 'store_id = ?'
  return q.all<AuditEntry>(
    `SELECT id, store_id AS storeId, at, actor, address, action, detail, count FROM audit_log
     WHERE ${where} ORDER BY at DESC, id DESC LIMIT ?`,
    storeId,
    limit,
  )
}
