// What the settings page's dashboard and its getting-started checklist ask of the stored data.
import type { Queries } from './data.ts'

/** True once any session or order of the store is stored. */
export async function hasStoreData(q: Queries, storeId: number): Promise<boolean> {
  const row = await q.get<{ found: number }>(
    `SELECT (EXISTS (SELECT 1 FROM sessions WHERE store_id = ?)
       OR EXISTS (SELECT 1 FROM orders WHERE store_id = ?)) AS found`,
    storeId,
    storeId,
  )
  return Boolean(row?.found)
}

/** True when the store has an export key that answers at `now`: not revoked, not expired. */
export async function hasExportKey(q: Queries, storeId: number, now: number): Promise<boolean> {
  const row = await q.get<{ found: number }>(
    `SELECT 1 AS found FROM api_keys WHERE store_id = ? AND scope = 'export'
       AND (revoked_at IS NULL OR revoked_at > ?) AND (expires_at IS NULL OR expires_at > ?)
     LIMIT 1`,
    storeId,
    now,
    now,
  )
  return row !== null
}
