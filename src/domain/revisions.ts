// Data revisions: a store's revision number, raised whenever its rows change, and the hours each
// revision changed, so that a stored sync knows its period is stale. It does not write rows
// (ingest/writers.ts and ingest/firstLoad.ts call it inside their transactions) nor compare a
// stored sync with them (sync.ts).
import type { Database } from '../db/database.ts'

/** Changes are tracked by the hour. */
export const HOUR_MS = 3_600_000

/** The store's data revision, cached until this process writes data or another one commits. */
export function dataRevision(db: Database, storeId: number): number {
  return db.cache.get(revisionKey(storeId), () => {
    const row = db.query('SELECT data_revision FROM stores WHERE id = ?').get(storeId) as {
      data_revision: number
    }
    return row.data_revision
  })
}

/** The read-cache key of a store's data revision. */
export const revisionKey = (storeId: number): string => `data-revision:${storeId}`

/** Gives the store a new data revision, inside the caller's transaction, and returns it. */
export function nextRevision(db: Database, storeId: number): number {
  const { data_revision } = db
    .query(
      'UPDATE stores SET data_revision = data_revision + 1 WHERE id = ? RETURNING data_revision',
    )
    .get(storeId) as { data_revision: number }
  db.cache.forget(revisionKey(storeId))
  return data_revision
}

/** The statement marking an hour (store, hour, revision) as changed at a revision. */
export function hourMark(db: Database) {
  return db.query(
    `INSERT INTO data_changes (store_id, hour, revision) VALUES (?, ?, ?)
     ON CONFLICT (store_id, hour) DO UPDATE SET revision = excluded.revision`,
  )
}

/**
 * Marks the hours holding changed rows with a new store revision, so that stored syncs of
 * those periods know they are stale. Runs inside the caller's transaction.
 */
export function markChanged(db: Database, storeId: number, times: Iterable<number>): void {
  const hours = new Set<number>()
  for (const t of times) hours.add(Math.floor(t / HOUR_MS))
  if (hours.size === 0) return
  const data_revision = nextRevision(db, storeId)
  const mark = hourMark(db)
  for (const hour of hours) mark.run(storeId, hour, data_revision)
}
