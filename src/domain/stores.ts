import type { Data } from '../db/data.ts'
import { insertStoreIfMissing, storeById, storeByTrackingId } from '../db/stores.ts'
import { randomBase62 } from '../lib/random.ts'
import { type Clock, nowMs } from './clock.ts'

/** A shop whose data this server keeps. One default store exists; the schema allows more. */
export interface Store {
  id: number
  trackingId: string
}

const DEFAULT_STORE_ID = 1

/** Returns the default store, creating it (with its tracking id) on first run. */
export async function ensureDefaultStore(data: Data, clock: Clock): Promise<Store> {
  await insertStoreIfMissing(data, DEFAULT_STORE_ID, `MIDA-${randomBase62(12)}`, nowMs(clock))
  const store = await storeById(data, DEFAULT_STORE_ID)
  if (!store) throw new Error(`Store ${DEFAULT_STORE_ID} does not exist`)
  return store
}

/** Finds the store that owns a tracking id, for the storefront tracker. */
export function findStoreByTrackingId(data: Data, trackingId: string): Promise<Store | null> {
  // Every tracker event asks; tracking ids never change, unknown ones are not remembered.
  return data.cache.load(`store-by-tracking-id:${trackingId}`, () =>
    storeByTrackingId(data, trackingId),
  )
}
