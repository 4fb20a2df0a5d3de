// Query module of `webhook_deliveries`: the Shopify deliveries applied, remembered so that a
// retried delivery is applied once and an older one after a newer is not applied.
import type { Queries } from './data.ts'

/** True when this delivery id has been recorded. */
export async function deliverySeen(
  q: Queries,
  storeId: number,
  webhookId: string,
): Promise<boolean> {
  const row = await q.get<{ seen: number }>(
    'SELECT 1 AS seen FROM webhook_deliveries WHERE store_id = ? AND webhook_id = ?',
    storeId,
    webhookId,
  )
  return row !== null
}

/** The newest `updated_at` of the order among the deliveries recorded, or null. */
export async function newestOrderUpdate(
  q: Queries,
  storeId: number,
  orderId: string,
): Promise<number | null> {
  const row = await q.get<{ t: number | null }>(
    'SELECT max(order_updated_at) AS t FROM webhook_deliveries WHERE store_id = ? AND order_id = ?',
    storeId,
    orderId,
  )
  return row?.t ?? null
}

/** Forgets the deliveries received before `before` (epoch ms). */
export function forgetDeliveriesBefore(q: Queries, storeId: number, before: number) {
  return q.run(
    'DELETE FROM webhook_deliveries WHERE store_id = ? AND received_at < ?',
    storeId,
    before,
  )
}

/** A delivery as recorded. */
export interface DeliveryRecord {
  webhookId: string
  topic: string
  orderId: string
  /** The order's `updated_at` (epoch ms), when the payload had one. */
  orderUpdatedAt: number | null
  receivedAt: number
}

/** Records a delivery. */
export function recordDelivery(q: Queries, storeId: number, d: DeliveryRecord) {
  return q.run(
    `INSERT INTO webhook_deliveries (store_id, webhook_id, topic, order_id, order_updated_at,
       received_at) VALUES (?, ?, ?, ?, ?, ?)`,
    storeId,
    d.webhookId,
    d.topic,
    d.orderId,
    d.orderUpdatedAt,
    d.receivedAt,
  )
}
