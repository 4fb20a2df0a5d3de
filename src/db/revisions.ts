// Data revisions: a store's revision number, raised whenever its rows change, and the hours each
// revision changed (`data_changes`), so that a stored sync knows its period is stale. The
// statements are shared with the engine-specific writers (sqlite/sessionWriters.ts), which mark
// hours synchronously inside their own transactions.
import type { Store } from '../domain/stores.ts'
import type { Queries } from './data.ts'

/** Changes are tracked by the hour. */
export const HOUR_MS = 3_600_000

/** The read-cache key of a store's data revision. */
export const revisionKey = (storeId: number): string => `data-revision:${storeId}`

/** Raises the store's data revision; returns the new one as `data_revision`. */
export const NEXT_REVISION_SQL =
  'UPDATE stores SET data_revision = data_revision + 1 WHERE id = ? RETURNING data_revision'

/** Marks an hour (store, hour, revision) as changed at a revision. */
export const MARK_HOUR_SQL = `INSERT INTO data_changes (store_id, hour, revision) VALUES (?, ?, ?)
     ON CONFLICT (store_id, hour) DO UPDATE SET revision = excluded.revision`

interface RevisionRow {
  data_revision: number
}

/** The store's data revision as stored (uncached: the domain caches it under revisionKey). */
export async function dataRevision(q: Queries, store: Store): Promise<number> {
  const row = await q.get<RevisionRow>('SELECT data_revision FROM stores WHERE id = ?', store.id)
  if (!row) throw new Error(`Store ${store.id} does not exist`)
  return row.data_revision
}

/** The distinct hours (epoch ms / HOUR_MS) holding the given instants. */
export function hoursOf(times: Iterable<number>): Set<number> {
  const hours = new Set<number>()
  for (const t of times) hours.add(Math.floor(t / HOUR_MS))
  return hours
}

/**
 * Marks the hours holding changed rows with a new store revision, inside the caller's
 * transaction (`q`). The caller forgets the cached revision (revisionKey) once it has committed.
 */
export async function markChanged(
  q: Queries,
  storeId: number,
  times: Iterable<number>,
): Promise<void> {
  const hours = hoursOf(times)
  if (hours.size === 0) return
  const row = await q.get<RevisionRow>(NEXT_REVISION_SQL, storeId)
  if (!row) throw new Error(`Store ${storeId} does not exist`)
  for (const hour of hours) await q.run(MARK_HOUR_SQL, storeId, hour, row.data_revision)
}
