import { formatCount } from '../../src/lib/format.ts'
import { CopyRow, TextField } from '../fields.tsx'
import { modelOf, type SettingsSection, type TrackingTodayModel } from './types.ts'

/** The tag a merchant pastes into the theme (`theme.liquid`, before `</head>`). */
function trackingSnippet(baseUrl: string, trackingId: string): string {
  return `<script defer src="${baseUrl.replace(/\/+$/, '')}/mida.js" data-store="${trackingId}"></script>`
}

/** Where Shopify posts this store's order webhooks. */
function webhookUrl(baseUrl: string, trackingId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/apiv1/webhooks/shopify/orders/${trackingId}`
}

/**
 * The live counter fragment (`#tracking-today`), polled by htmx every 30 seconds. Without a
 * model (a Save answer that left the time zone alone) it is a placeholder marked `hx-preserve`:
 * htmx keeps the page's own counter in its place, so a Save does not count today again.
 */
export function TrackingToday({ model }: { model: TrackingTodayModel | null }) {
  if (!model) return <p id="tracking-today" hx-preserve></p>
  return (
    <p
      id="tracking-today"
      hx-get={`${model.base}/settings/tracking/today`}
      hx-trigger="every 30s"
      hx-swap="outerHTML"
      aria-live="polite"
    >
      Today so far (<span safe>{model.timeZone}</span>):{' '}
      <strong>{formatCount(model.sessions)}</strong> sessions,{' '}
      <strong>{formatCount(model.orders)}</strong> orders.
    </p>
  )
}

/** "Tracking": the storefront snippet, allowed origins, the Shopify webhook, today's counts. */
export const trackingSection: SettingsSection = {
  id: 'tracking',
  title: 'Tracking',
  intro: 'How sessions and orders get here: the storefront tracker and Shopify order webhooks.',
  fields: true,
  models: ['trackingToday'],
  render(view) {
    const { server, settings, state } = view
    const base = server.baseUrl
    return (
      <>
        <TrackingToday model={modelOf(view, 'trackingToday')} />
        <h3>Storefront tracker</h3>
        <p>
          Paste this tag into your theme (Online Store → Themes → Edit code →{' '}
          <code>theme.liquid</code>, just before <code safe>{'</head>'}</code>):
        </p>
        <CopyRow id="tracking-snippet" text={trackingSnippet(base, server.trackingId)} />
        <TextField
          name="allowed_origins"
          label="Allowed origins"
          placeholder="https://shop.example, https://shop.myshopify.com"
          help="Storefronts that may send events, comma-separated. Empty: any."
          state={state}
        />
        <h3>Shopify order webhooks</h3>
        <p>
          In the Shopify admin: Settings → Notifications → Webhooks → Create webhook, format JSON,
          for Order creation, Order update, Order payment and Order cancellation, with this URL:
        </p>
        <CopyRow id="tracking-webhook-url" text={webhookUrl(base, view.server.trackingId)} />
        <TextField
          name="shopify_webhook_secret"
          label="Webhook signing secret"
          type="password"
          autocomplete="off"
          placeholder={settings.shopify_webhook_secret ? 'saved (leave empty to keep it)' : ''}
          help={
            settings.shopify_webhook_secret
              ? 'A secret is saved; it is never shown.'
              : 'The key Shopify shows under the webhook list ("Your webhooks will be signed with …").'
          }
          state={state}
        />
      </>
    )
  },
}
