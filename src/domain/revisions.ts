// Data revisions: a store's revision number, raised whenever its rows change, and the hours each
// revision changed, so that a stored sync knows its period is stale. The statements live in
// src/db/revisions.ts; the hours are marked by the writers inside their own transactions (the
// engine's bulk writers, src/db/orders.ts's writeOrders), not here. Comparing a stored sync with
// them is sync.ts's.
import type { Data } from '../db/data.ts'
import { revisionKey, dataRevision as storedRevision } from '../db/revisions.ts'
import type { Store } from './stores.ts'

/** The store's data revision, cached until this process writes data or another one commits. */
export function currentRevision(data: Data, store: Store): Promise<number> {
  return data.cache.load(revisionKey(store.id), () => storedRevision(data, store))
}

/** The store's data revision if this process has it cached (the sync API's same-turn answer). */
export function cachedRevision(data: Data, store: Store): number | undefined {
  return data.cache.peek<number>(revisionKey(store.id))
}
