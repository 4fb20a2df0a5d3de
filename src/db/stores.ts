// The stores' statements (table stores).
import type { Store } from '../domain/stores.ts'
import type { Queries } from './data.ts'

interface StoreRow {
  id: number
  tracking_id: string
}

function toStore(row: StoreRow): Store {
  return { id: row.id, trackingId: row.tracking_id }
}

/** Creates a store with this id unless one exists; resolves to the rows written (0 or 1). */
export function insertStoreIfMissing(
  q: Queries,
  id: number,
  trackingId: string,
  at: number,
): Promise<number> {
  return q.run(
    'INSERT INTO stores (id, tracking_id, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
    id,
    trackingId,
    at,
  )
}

/** The store with this id, or null. */
export async function storeById(q: Queries, id: number): Promise<Store | null> {
  const row = await q.get<StoreRow>('SELECT id, tracking_id FROM stores WHERE id = ?', id)
  return row && toStore(row)
}

/** The store that owns a tracking id, or null. */
export async function storeByTrackingId(q: Queries, trackingId: string): Promise<Store | null> {
  const row = await q.get<StoreRow>(
    'SELECT id, tracking_id FROM stores WHERE tracking_id = ?',
    trackingId,
  )
  return row && toStore(row)
}

/** Every store, oldest first. */
export async function allStores(q: Queries): Promise<Store[]> {
  const rows = await q.all<StoreRow>('SELECT id, tracking_id FROM stores ORDER BY id')
  return rows.map(toStore)
}
