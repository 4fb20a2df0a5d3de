import type { Database } from '../db/database.ts'
import { type Clock, nowMs } from './clock.ts'
import { randomBase62 } from './random.ts'

/** A shop whose data this server keeps. One default store exists; the schema allows more. */
export interface Store {
  id: number
  trackingId: string
}

const DEFAULT_STORE_ID = 1

/** Returns the default store, creating it (with its tracking id) on first run. */
export function ensureDefaultStore(db: Database, clock: Clock): Store {
  db.query(
    'INSERT INTO stores (id, tracking_id, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
  ).run(DEFAULT_STORE_ID, `MIDA-${randomBase62(12)}`, nowMs(clock))
  return getStore(db, DEFAULT_STORE_ID)
}

/** Loads a store by id. */
function getStore(db: Database, id: number): Store {
  const row = db.query('SELECT id, tracking_id FROM stores WHERE id = ?').get(id) as {
    id: number
    tracking_id: string
  } | null
  if (!row) throw new Error(`Store ${id} does not exist`)
  return { id: row.id, trackingId: row.tracking_id }
}

/** Finds the store that owns a tracking id, for the storefront tracker. */
export function findStoreByTrackingId(db: Database, trackingId: string): Store | null {
  // Every tracker event asks; tracking ids never change, unknown ones are not remembered.
  return db.cache.get(`store-by-tracking-id:${trackingId}`, () => {
    const row = db
      .query('SELECT id, tracking_id FROM stores WHERE tracking_id = ?')
      .get(trackingId) as {
      id: number
      tracking_id: string
    } | null
    return row ? { id: row.id, trackingId: row.tracking_id } : null
  })
}
