import { Elysia } from 'elysia'
import { z } from 'zod'
import { TrackingToday } from '../../views/settings/tracking.tsx'
import { modelOf } from '../../views/settings/types.ts'
import { type CollectQueue, isBot } from '../domain/collect.ts'
import { Forbidden, InvalidInput, NotFound } from '../domain/errors.ts'
import { describeIssues } from '../domain/records.ts'
import { cachedSettings, readSettings } from '../domain/settings.ts'
import { findStoreByTrackingId, listStores, type Store } from '../domain/stores.ts'
import trackerSource from '../tracker/mida.js' with { type: 'text' }
import { adminAuth } from './auth.ts'
import { type AddressSource, type AppContext, clientAddress } from './context.ts'
import { errorResponse } from './errors.ts'
import { htmlResponse } from './html.ts'
import { bodyLimitFor, fastRoute, readBodyText } from './security.ts'
import { loadSettingsView } from './settingsModels.ts'

const TRACKER_GZIP = Bun.gzipSync(trackerSource)
const TRACKER_ETAG = `"${Bun.hash(trackerSource).toString(36)}"`
const TRACKER_HEADERS = {
  'content-type': 'text/javascript; charset=utf-8',
  // An hour fresh, a day more while revalidating: a new release reaches shops within the hour.
  'cache-control': 'public, max-age=3600, stale-while-revalidate=86400',
  etag: TRACKER_ETAG,
  vary: 'Accept-Encoding',
  // Shops with Cross-Origin-Embedder-Policy may still load it.
  'cross-origin-resource-policy': 'cross-origin',
  'x-content-type-options': 'nosniff',
}

/** The path tracker events are posted to. */
export const COLLECT_PATH = '/apiv1/collect'

/** The size limit of one event (16 KB): a URL and a referrer with room to spare. */
const MAX_EVENT_BYTES = bodyLimitFor(COLLECT_PATH)

/** The body of a tracker event (`POST /apiv1/collect`); /openapi.json documents it. */
export const collectBody = z.object({
  store: z
    .string('must be the tracking id (data-store)')
    .trim()
    .min(1)
    .max(100)
    .describe("The store's tracking id (the script tag's data-store)."),
  visitor: z
    .string('must be a visitor id')
    .regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8 to 64 letters, digits, "-" or "_"')
    .describe('The visitor id the tracker keeps in the browser.'),
  event: z.enum(['pageview', 'add_to_cart', 'checkout'], {
    error: 'must be pageview, add_to_cart or checkout',
  }),
  url: z
    .string('must be the page URL')
    .max(4000)
    .refine((u) => /^https?:\/\/[^/]/i.test(u) && URL.canParse(u), 'must be an http(s) URL')
    .describe('The page (http or https).'),
  referrer: z.string().max(4000).default('').describe("The page's referrer (document.referrer)."),
})

/** Parses a tracker event body (JSON, sent as text/plain by sendBeacon). */
function parseCollectBody(text: string): z.output<typeof collectBody> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidInput('Body is not valid JSON')
  }
  const parsed = collectBody.safeParse(value)
  if (!parsed.success) throw new InvalidInput(describeIssues(parsed.error))
  return parsed.data
}

/** The configured origins, or null for "any origin". */
async function allowedOrigins(ctx: AppContext, store: Store): Promise<string[] | null> {
  // Every event asks: the cached settings when there are some, without another turn.
  const settings = cachedSettings(ctx.data, store) ?? (await readSettings(ctx.data, store))
  const list = settings.allowed_origins
  return list ? list.split(',') : null
}

function corsHeaders(origin: string | null): Record<string, string> {
  return origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' }
}

/**
 * `POST /apiv1/collect`, whole: body, store, origin, rate, bot check, queueing, and a Response
 * carrying every header (CORS, and security through `fastRoute`). createApp hands it to Bun's router directly, like
 * the sync API, so the busiest route skips Elysia's per-request work; `collectRoutes` runs the
 * same function inside Elysia (for `app.handle`). Resolves once the event is durable.
 */
export function collectHandler(ctx: AppContext, queue: CollectQueue) {
  return fastRoute(ctx.config, async (request: Request, server: AddressSource = null) => {
    const origin = request.headers.get('origin')
    let allowedOrigin: string | null = null
    try {
      // MIDA_COLLECT_IP_RATE events per client address (600 a minute), before any other work:
      // the visitor id is the client's choice, the address is not.
      ctx.collectIpLimiter.take(clientAddress(ctx, request, server))
      const body = parseCollectBody(await readBodyText(request, MAX_EVENT_BYTES))
      const store = await findStoreByTrackingId(ctx.data, body.store)
      if (!store) throw new NotFound('Unknown tracking id')
      const allowed = await allowedOrigins(ctx, store)
      if (allowed && !(origin && allowed.includes(origin))) {
        throw new Forbidden('Origin not allowed')
      }
      allowedOrigin = origin
      // MIDA_COLLECT_RATE events per visitor (120 a minute): a runaway script cannot flood us.
      ctx.collectLimiter.take(`${store.id}:${body.visitor}`)
      const userAgent = request.headers.get('user-agent') ?? ''
      // Bots get the same answer as people, so nothing tells them they are ignored.
      if (!isBot(userAgent)) {
        await queue.add({
          storeId: store.id,
          visitorId: body.visitor,
          name: body.event,
          url: body.url,
          referrer: body.referrer,
          userAgent,
          ownHosts: (allowed ?? []).map((o) => new URL(o).hostname),
        })
      }
      return new Response(null, { status: 204, headers: corsHeaders(allowedOrigin) })
    } catch (err) {
      const response = errorResponse(err)
      for (const [name, value] of Object.entries(corsHeaders(allowedOrigin))) {
        response.headers.set(name, value)
      }
      return response
    }
  })
}

/**
 * `GET /mida.js` (the storefront tracker, cached and gzipped) and `POST /apiv1/collect` (its
 * events: validated, origin-checked, bots dropped, batched into sessions; no IP address kept;
 * `handler` is built by `collectHandler`).
 */
export function collectRoutes(ctx: AppContext, queue: CollectQueue) {
  const handler = collectHandler(ctx, queue)
  // onStop: at shutdown, after the requests in flight, write anything still queued.
  return new Elysia({ name: 'collect' })
    .onStop(() => queue.flush())
    .get('/mida.js', ({ request }) => {
      if (request.headers.get('if-none-match') === TRACKER_ETAG) {
        return new Response(null, { status: 304, headers: TRACKER_HEADERS })
      }
      const gzip = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')
      return new Response(gzip ? TRACKER_GZIP : trackerSource, {
        headers: gzip ? { ...TRACKER_HEADERS, 'content-encoding': 'gzip' } : TRACKER_HEADERS,
      })
    })
    .options(COLLECT_PATH, async ({ request }) => {
      // A preflight names no store: an origin passes when some store takes it (the event
      // itself is then checked against its own store's list).
      const origin = request.headers.get('origin')
      const lists = await Promise.all(
        (await listStores(ctx.data)).map((store) => allowedOrigins(ctx, store)),
      )
      const anyStoreTakes = (o: string) => lists.some((list) => list === null || list.includes(o))
      if (origin && !anyStoreTakes(origin)) {
        return new Response(null, { status: 403, headers: corsHeaders(null) })
      }
      return new Response(null, {
        status: 204,
        headers: {
          ...corsHeaders(origin),
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'Content-Type',
          'access-control-max-age': '86400',
        },
      })
    })
    .post(COLLECT_PATH, ({ request, server }) => handler(request, server), { parse: 'none' })
}

/**
 * `GET /settings/tracking/today` (under `prefix`, as the settings page): the page's live count of
 * today's sessions and orders.
 */
export function trackingSettingsRoutes(ctx: AppContext, prefix: string) {
  return new Elysia({ name: 'tracking-settings', seed: prefix, prefix })
    .use(adminAuth(ctx))
    .guard({ store: true })
    .get('/settings/tracking/today', async ({ scope }) =>
      htmlResponse(
        TrackingToday({
          model: modelOf(
            await loadSettingsView(ctx, { scope, models: ['trackingToday'] }),
            'trackingToday',
          ),
        }),
      ),
    )
}
