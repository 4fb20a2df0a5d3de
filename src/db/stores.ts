// The stores' statements (table stores) and which stores an admin may see (admin_stores).
import type { Store } from '../domain/stores.ts'
import type { Queries } from './data.ts'

interface StoreRow {
  id: number
  slug: string
  tracking_id: string
}

const COLUMNS = 'id, slug, tracking_id'

function toStore(row: StoreRow): Store {
  return { id: row.id, slug: row.slug, trackingId: row.tracking_id }
}

/**
 * Creates a store; resolves to its id, or null when the slug is taken (also by a store another
 * process created at the same moment).
 */
export async function insertStore(
  q: Queries,
  slug: string,
  trackingId: string,
  at: number,
): Promise<number | null> {
  const row = await q.get<{ id: number }>(
    `INSERT INTO stores (slug, tracking_id, created_at) VALUES (?, ?, ?)
     ON CONFLICT (slug) DO NOTHING RETURNING id`,
    slug,
    trackingId,
    at,
  )
  return row?.id ?? null
}

/** The store with this id, or null. */
export async function storeById(q: Queries, id: number): Promise<Store | null> {
  const row = await q.get<StoreRow>(`SELECT ${COLUMNS} FROM stores WHERE id = ?`, id)
  return row && toStore(row)
}

/** The store with this slug, or null. */
export async function storeBySlug(q: Queries, slug: string): Promise<Store | null> {
  const row = await q.get<StoreRow>(`SELECT ${COLUMNS} FROM stores WHERE slug = ?`, slug)
  return row && toStore(row)
}

/** The store that owns a tracking id, or null. */
export async function storeByTrackingId(q: Queries, trackingId: string): Promise<Store | null> {
  const row = await q.get<StoreRow>(
    `SELECT ${COLUMNS} FROM stores WHERE tracking_id = ?`,
    trackingId,
  )
  return row && toStore(row)
}

/** Every store, oldest first (the first is the one the paths without a store name mean). */
export async function allStores(q: Queries): Promise<Store[]> {
  const rows = await q.all<StoreRow>(`SELECT ${COLUMNS} FROM stores ORDER BY id`)
  return rows.map(toStore)
}

/** Deletes a store; every row of its own goes with it (each table's ON DELETE CASCADE). */
export function deleteStoreRow(q: Queries, id: number): Promise<number> {
  return q.run('DELETE FROM stores WHERE id = ?', id)
}

/** The ids of the stores a limited admin may see (meaningless for an admin of all stores). */
export async function adminStoreIds(q: Queries, adminId: number): Promise<number[]> {
  const rows = await q.all<{ store_id: number }>(
    'SELECT store_id FROM admin_stores WHERE admin_id = ? ORDER BY store_id',
    adminId,
  )
  return rows.map((r) => r.store_id)
}

/** Sets which stores an admin sees: every store, or exactly these. */
export async function setAdminStores(
  q: Queries,
  adminId: number,
  storeIds: number[] | 'all',
): Promise<void> {
  await q.run('DELETE FROM admin_stores WHERE admin_id = ?', adminId)
  await q.run('UPDATE admins SET all_stores = ? WHERE id = ?', storeIds === 'all' ? 1 : 0, adminId)
  if (storeIds === 'all') return
  for (const storeId of storeIds) {
    await q.run('INSERT INTO admin_stores (store_id, admin_id) VALUES (?, ?)', storeId, adminId)
  }
}
