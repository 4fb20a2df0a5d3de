// Query module of `orders`: the upsert every way an order comes in shares, and the reads made
// around it. The batch imports run the same statements synchronously through the engine-specific
// writer (sqlite/sessionWriters.ts); a webhook writes its order here, inside its transaction.
import type { OrderRecord } from '../domain/records.ts'
import type { Queries, SqlValue } from './data.ts'
import { markChanged } from './revisions.ts'

/** What an order was before this write. Parameters: store id, order id. */
const STORED_ORDER_SQL = 'SELECT created_at, session_id FROM orders WHERE store_id = ? AND id = ?'

interface StoredOrder {
  created_at: number
  session_id: string | null
}

/** When a session started (an order linked to it changes that hour). Parameters: store, session. */
const SESSION_START_SQL = 'SELECT started_at FROM sessions WHERE store_id = ? AND id = ?'

/** Inserts an order or updates it by id; parameters in orderValues' order. */
const UPSERT_ORDER_SQL = `INSERT INTO orders (store_id, id, name, created_at, total_price_cents, currency,
       financial_status, cancelled_at, test, session_id, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (store_id, id) DO UPDATE SET name = coalesce(excluded.name, orders.name),
       created_at = excluded.created_at, total_price_cents = excluded.total_price_cents,
       currency = coalesce(excluded.currency, orders.currency),
       financial_status = excluded.financial_status, cancelled_at = excluded.cancelled_at,
       test = excluded.test, session_id = coalesce(excluded.session_id, orders.session_id),
       updated_at = excluded.updated_at`

/** UPSERT_ORDER_SQL's parameters for an order written at `at`. */
function orderValues(storeId: number, o: OrderRecord, at: number): SqlValue[] {
  return [
    storeId,
    o.id,
    o.name ?? null,
    o.created_at,
    o.total_price,
    o.currency ?? null,
    o.financial_status ?? null,
    o.cancelled_at ?? null,
    o.test ? 1 : 0,
    o.session_id || null,
    at,
  ]
}

/**
 * Upserts orders by id inside the caller's transaction and marks their hours changed (an order
 * linked to a session also marks that session's hour: it decides whether the session counts as
 * abandoned). The SQLite ingest engine runs it for the batch imports too.
 */
export async function writeOrders(
  q: Queries,
  storeId: number,
  orders: OrderRecord[],
  at: number,
): Promise<{ inserted: number; updated: number }> {
  let inserted = 0
  let updated = 0
  const touched: number[] = []
  const touchSession = async (sessionId: string | null | undefined) => {
    if (!sessionId) return
    const s = await q.get<{ started_at: number }>(SESSION_START_SQL, storeId, sessionId)
    if (s) touched.push(s.started_at)
  }
  for (const o of orders) {
    const before = await q.get<StoredOrder>(STORED_ORDER_SQL, storeId, o.id)
    if (before) {
      updated++
      touched.push(before.created_at)
      await touchSession(before.session_id)
    } else inserted++
    touched.push(o.created_at)
    await touchSession(o.session_id)
    await q.run(UPSERT_ORDER_SQL, ...orderValues(storeId, o, at))
  }
  await markChanged(q, storeId, touched)
  return { inserted, updated }
}

/** Whether a stored order is a test order (null: not stored). */
export async function orderIsTest(
  q: Queries,
  storeId: number,
  orderId: string,
): Promise<boolean | null> {
  const row = await q.get<{ test: number }>(
    'SELECT test FROM orders WHERE store_id = ? AND id = ?',
    storeId,
    orderId,
  )
  return row ? row.test === 1 : null
}
