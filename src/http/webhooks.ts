import { Elysia } from 'elysia'
import { NotFound, Unauthorized } from '../domain/errors.ts'
import { requireSecret } from '../domain/secrets.ts'
import { readSettings } from '../domain/settings.ts'
import { findStoreByTrackingId, listStores, type Store } from '../domain/stores.ts'
import { applyOrderWebhook, verifyShopifyHmac } from '../domain/webhooks.ts'
import type { AppContext } from './context.ts'
import { json } from './context.ts'
import { bodyLimitFor, readBody } from './security.ts'

/** The answer (401) to a delivery that is not signed with the configured secret, or to any when none is. */
const INVALID_SIGNATURE = 'Invalid webhook signature'

/** Shopify's order payloads are rarely above a few hundred KB; the limit is 2 MB. */
const MAX_WEBHOOK_BYTES = bodyLimitFor('/apiv1/webhooks/shopify/orders')

/**
 * `POST /apiv1/webhooks/shopify/orders/<tracking_id>`: Shopify order webhooks of that store,
 * verified on the raw body with its `shopify_webhook_secret` setting, applied once per delivery
 * id, answered at once. The path without a tracking id is the first store's (the address the
 * single-store versions gave).
 */
export function webhookRoutes(ctx: AppContext) {
  // Logged once per store until a secret is set, so a flood of deliveries cannot flood the console.
  const toldNoSecret = new Set<number>()

  const deliver = async (request: Request, store: Store) => {
    const body = await readBody(request, MAX_WEBHOOK_BYTES)
    const secret = requireSecret(
      (await readSettings(ctx.data, store)).shopify_webhook_secret,
      'The webhook signing secret',
    )
    // One answer whether a secret is set or not: the client learns nothing of the config.
    if (!secret) {
      if (!toldNoSecret.has(store.id)) {
        console.warn(
          `Shopify webhook for store "${store.slug}" refused: no webhook signing secret is set (settings page, Tracking; or settings set shopify_webhook_secret=…).`,
        )
        toldNoSecret.add(store.id)
      }
      throw new Unauthorized(INVALID_SIGNATURE)
    }
    toldNoSecret.delete(store.id)
    const signature = request.headers.get('x-shopify-hmac-sha256')
    if (!verifyShopifyHmac(body, secret, signature)) throw new Unauthorized(INVALID_SIGNATURE)
    const result = await applyOrderWebhook(
      ctx.data,
      store,
      {
        webhookId: request.headers.get('x-shopify-webhook-id')?.trim() || null,
        topic: request.headers.get('x-shopify-topic') ?? '',
        body,
      },
      ctx.clock,
    )
    return json({ success: true, result: result.outcome, order_id: result.orderId })
  }

  return new Elysia({ name: 'webhooks', prefix: '/apiv1/webhooks' })
    .post(
      '/shopify/orders',
      async ({ request }) => deliver(request, (await listStores(ctx.data))[0] as Store),
      { parse: 'none' },
    )
    .post(
      '/shopify/orders/:trackingId',
      async ({ request, params }) => {
        const store = await findStoreByTrackingId(ctx.data, params.trackingId)
        if (!store) throw new NotFound('No store has this tracking id')
        return deliver(request, store)
      },
      { parse: 'none' },
    )
}
