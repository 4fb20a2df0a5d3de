import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import type { Data } from '../db/data.ts'
import { writeOrders } from '../db/orders.ts'
import { revisionKey } from '../db/revisions.ts'
import {
  deliverySeen,
  forgetDeliveriesBefore,
  newestOrderUpdate,
  recordDelivery,
} from '../db/webhookDeliveries.ts'
import { type Clock, nowMs } from './clock.ts'
import { InvalidInput } from './errors.ts'
import { type OrderAttribution, sessionForOrder } from './ingest/attribution.ts'
import { describeIssues, orderInput, parseInstant } from './records.ts'
import type { Store } from './stores.ts'

/** The order topics applied; any other topic is acknowledged and ignored. */
const ORDER_TOPICS: ReadonlySet<string> = new Set([
  'orders/create',
  'orders/updated',
  'orders/paid',
  'orders/cancelled',
])

/** Deliveries remembered this long; Shopify stops retrying long before. */
const DELIVERY_RETENTION_MS = 30 * 24 * 3_600_000

/**
 * True when `signature` (the `X-Shopify-Hmac-Sha256` header) is the base64 HMAC-SHA256 of the raw
 * body under `secret`. The comparison takes the same time wherever the bytes differ.
 */
export function verifyShopifyHmac(
  body: Uint8Array,
  secret: string,
  signature: string | null,
): boolean {
  if (!secret || !signature) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  const given = Buffer.from(signature.trim(), 'base64')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** The base64 signature Shopify would send for this body; for tests and tooling. */
export function signShopifyBody(body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64')
}

/** The fields of a Shopify order read besides `orderInput`'s (to date it and find its session). */
export const shopifyOrder = z.looseObject({
  updated_at: z.string().nullish(),
  note_attributes: z
    .array(z.looseObject({ name: z.unknown(), value: z.unknown() }))
    .nullish()
    .catch(null),
  landing_site: z.string().nullish().catch(null),
})

/** One webhook delivery, its signature already verified. */
export interface WebhookDelivery {
  webhookId: string | null
  topic: string
  body: Uint8Array
}

export type WebhookOutcome = 'applied' | 'duplicate' | 'ignored' | 'stale'

/**
 * Applies a verified Shopify order webhook: upserts the order (linked to its session when it
 * names one), at most once per `X-Shopify-Webhook-Id`; a delivery older (by the order's
 * `updated_at`) than one already applied is recorded but not applied. One transaction.
 */
export async function applyOrderWebhook(
  data: Data,
  store: Store,
  delivery: WebhookDelivery,
  clock: Clock,
): Promise<{ outcome: WebhookOutcome; orderId: string | null }> {
  const topic = delivery.topic.trim().toLowerCase()
  const at = nowMs(clock)
  if (!ORDER_TOPICS.has(topic)) return { outcome: 'ignored', orderId: null }
  let payload: unknown
  try {
    payload = JSON.parse(new TextDecoder().decode(delivery.body))
  } catch {
    throw new InvalidInput('Body is not valid JSON')
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidInput('Body must be a JSON object (a Shopify order)')
  }
  const order = orderInput.safeParse(payload)
  if (!order.success) throw new InvalidInput(`Order: ${describeIssues(order.error)}`)
  const extra = shopifyOrder.parse(payload)
  const updatedAt = extra.updated_at ? parseInstant(extra.updated_at) : null
  const record = order.data
  const result = await data.tx(async (q) => {
    if (delivery.webhookId && (await deliverySeen(q, store.id, delivery.webhookId))) {
      return { outcome: 'duplicate' as const, orderId: record.id }
    }
    const newest = await newestOrderUpdate(q, store.id, record.id)
    const stale = updatedAt !== null && newest !== null && updatedAt < newest
    await forgetDeliveriesBefore(q, store.id, at - DELIVERY_RETENTION_MS)
    if (delivery.webhookId) {
      await recordDelivery(q, store.id, {
        webhookId: delivery.webhookId,
        topic,
        orderId: record.id,
        orderUpdatedAt: updatedAt,
        receivedAt: at,
      })
    }
    if (stale) return { outcome: 'stale' as const, orderId: record.id }
    const sessionId =
      record.session_id ||
      (await sessionForOrder(
        q,
        store,
        {
          noteAttributes: extra.note_attributes as OrderAttribution['noteAttributes'],
          landingSite: extra.landing_site,
        },
        record.created_at,
      ))
    await writeOrders(q, store.id, [{ ...record, session_id: sessionId }], at)
    return { outcome: 'applied' as const, orderId: record.id }
  })
  // The order moved the store's revision: the cached one is stale once this has committed.
  if (result.outcome === 'applied') data.cache.forget(revisionKey(store.id))
  return result
}
