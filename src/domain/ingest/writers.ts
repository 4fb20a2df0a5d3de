// The row writers as the domain calls them: sessions and orders upserted by id, a batch per
// transaction, the changed hours marked. Used by every way data comes in (imports, the demo,
// fixtures); they do not parse or validate input. The writing itself is the engine's
// (src/db/ingest.ts).
import type { Data } from '../../db/data.ts'
import { ingestEngine, type WriteCount } from '../../db/ingest.ts'
import { type Clock, nowMs } from '../clock.ts'
import type { OrderRecord, SessionRecord } from '../records.ts'
import type { Store } from '../stores.ts'

/** Rows written per transaction: large enough to be fast, small enough to keep memory flat. */
export const BATCH_SIZE = 50_000

/** Upserts sessions by id in one transaction; returns how many were new and how many changed. */
export function writeSessions(
  data: Data,
  store: Store,
  sessions: SessionRecord[],
  clock: Clock,
): Promise<WriteCount> {
  return ingestEngine(data).writeSessions(store.id, sessions, nowMs(clock))
}

/**
 * Upserts orders by id in one transaction. An order linked to a session also marks that
 * session's hour changed, since it decides whether the session counts as abandoned.
 */
export function writeOrders(
  data: Data,
  store: Store,
  orders: OrderRecord[],
  clock: Clock,
): Promise<WriteCount> {
  return ingestEngine(data).writeOrders(store.id, orders, nowMs(clock))
}
