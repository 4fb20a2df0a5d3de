import { Elysia } from 'elysia'
import { InvalidInput, Unauthorized } from '../domain/errors.ts'
import { readSettings } from '../domain/settings.ts'
import { applyOrderWebhook, verifyShopifyHmac } from '../domain/webhooks.ts'
import type { AppContext } from './context.ts'
import { json } from './context.ts'
import { errorResponse } from './errors.ts'

/** Shopify's order payloads are rarely above a few hundred KB. */
const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024

/**
 * `POST /apiv1/webhooks/shopify/orders`: Shopify order webhooks, verified on the raw body with
 * the `shopify_webhook_secret` setting, applied once per delivery id, answered at once.
 */
export function webhookRoutes(ctx: AppContext) {
  return new Elysia({ name: 'webhooks', prefix: '/apiv1/webhooks' }).post(
    '/shopify/orders',
    async ({ request }) => {
      try {
        if (Number(request.headers.get('content-length') ?? 0) > MAX_WEBHOOK_BYTES) {
          throw new InvalidInput('Body is too large')
        }
        const body = new Uint8Array(await request.arrayBuffer())
        const secret = readSettings(ctx.db, ctx.store.id).shopify_webhook_secret
        if (!secret) throw new Unauthorized('Webhook secret is not configured')
        const signature = request.headers.get('x-shopify-hmac-sha256')
        if (!verifyShopifyHmac(body, secret, signature)) {
          throw new Unauthorized('Invalid webhook signature')
        }
        const result = applyOrderWebhook(
          ctx.db,
          ctx.store.id,
          {
            webhookId: request.headers.get('x-shopify-webhook-id')?.trim() || null,
            topic: request.headers.get('x-shopify-topic') ?? '',
            body,
          },
          ctx.clock,
        )
        return json({ success: true, result: result.outcome, order_id: result.orderId })
      } catch (err) {
        return errorResponse(err)
      }
    },
    { parse: 'none' },
  )
}
