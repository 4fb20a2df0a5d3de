import { Elysia } from 'elysia'
import { isBusy } from '../db/database.ts'
import { type Clock, nowMs } from '../domain/clock.ts'
import { AppError, Forbidden, InvalidInput, Unauthorized } from '../domain/errors.ts'
import { type ApiKey, authenticateApiKey, type KeyScope } from '../domain/keys.ts'
import { parseDate } from '../domain/periods.ts'
import type { Comparison } from '../domain/report.ts'
import { cachedSettings, readSettings } from '../domain/settings.ts'
import { cachedStoreById, findStoreById, type Store } from '../domain/stores.ts'
import {
  currentSync,
  SyncFailed,
  type SyncRequest,
  type SyncResult,
  syncPeriod,
  withComparison,
} from '../domain/sync.ts'
import { refusedInput, syncBodySchema } from './apiSchemas.ts'
import { type AddressSource, type AppContext, clientAddress } from './context.ts'
import { errorResponse } from './errors.ts'
import { bodyLimitFor, fastRoute, readBodyText } from './security.ts'

/** The path of the sync API. */
export const SYNC_PATH = '/apiv1/analytics/sync'

const SYNC_BODY_LIMIT = bodyLimitFor(SYNC_PATH)

/** ETags whose response headers are kept: every store's current period, and some more. */
const SERVED_HEADERS_KEPT = 1024

/**
 * One call of the sync or report API, logged in the call log with its answer (every call,
 * whatever its outcome): its key and the key's store once checked (a call without a valid key
 * belongs to no store), its client's address, its duration.
 */
export class ApiCall {
  private readonly started = performance.now()
  keyId: number | null = null
  store: Store | null = null

  constructor(
    private readonly ctx: AppContext,
    private readonly address: string,
  ) {}

  /** Logs the call and returns its answer. */
  finish(response: Response, error: string | null): Response {
    const { ctx } = this
    ctx.callLog.add(
      {
        storeId: this.store?.id ?? null,
        at: nowMs(ctx.clock),
        keyId: this.keyId,
        address: this.address,
        status: response.status,
        durationMs: Math.round((performance.now() - this.started) * 100) / 100,
        error,
      },
      // A refusal of the key throttle (429) is counted in its address's row for the window.
      response.status === 429 ? { refusedWithinMs: ctx.config.keyAttempts.windowMs } : undefined,
    )
    return response
  }
}

/** The key a client sent, from any of the three accepted headers. */
function presentedKey(headers: Headers): string | null {
  const direct = headers.get('x-mida-secret-key')?.trim() || headers.get('mida-api-key')?.trim()
  if (direct) return direct
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '')
  return bearer?.[1] ?? null
}

/**
 * The key a request presents and the store it belongs to (the one store it opens), under the
 * key throttle: a failure is counted (and 401 thrown, or 429 past the allowance) for no key or a
 * key that opens nothing.
 */
export function throttledKey(
  ctx: AppContext,
  address: string,
  headers: Headers,
  scope: KeyScope | readonly KeyScope[],
  clock: Clock,
): Promise<{ key: ApiKey; store: Store }> {
  return throttledSecret(ctx, address, presentedKey(headers), scope, clock)
}

/** `throttledKey` for a key presented otherwise than in a header (the report's `?token=`). */
export async function throttledSecret(
  ctx: AppContext,
  address: string,
  secret: string | null,
  scope: KeyScope | readonly KeyScope[],
  clock: Clock,
): Promise<{ key: ApiKey; store: Store }> {
  await ctx.keyThrottle.check(address)
  const key = secret ? await authenticateApiKey(ctx.data, secret, scope, clock) : null
  const store = key
    ? (cachedStoreById(ctx.data, key.storeId) ?? (await findStoreById(ctx.data, key.storeId)))
    : null
  if (!key || !store) {
    // May refuse instead (429): one of a burst of failures past the allowance.
    await ctx.keyThrottle.fail(address)
    throw new Unauthorized()
  }
  return { key, store }
}

/** Parses the optional JSON body of a sync request, naming what is wrong. */
function parseSyncBody(
  text: string,
): Pick<SyncRequest, 'frequency' | 'date'> & { compare?: Comparison } {
  if (text.trim() === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidInput('Body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInput('Body must be a JSON object')
  }
  const parsed = syncBodySchema.safeParse(value)
  if (!parsed.success) throw refusedInput(parsed.error, 'field', syncBodySchema)
  return {
    frequency: parsed.data.frequency,
    date: parsed.data.date === undefined ? undefined : parseDate(parsed.data.date, 'date'),
    compare: parsed.data.compare,
  }
}

/** True when a request carries body bytes to read (a declared `Content-Length: 0` does not). */
function hasBody(request: Request): boolean {
  if (request.body === null) return false
  const length = request.headers.get('content-length')
  return length === null || Number(length) !== 0
}

/**
 * `POST /apiv1/analytics/sync`, whole: key, API status, body, sync, call log, and a Response
 * carrying every header (the security headers through `fastRoute`). createApp hands it to Bun's
 * router directly, so the API's hottest call skips Elysia's per-request work; `syncRoutes` runs
 * the same function inside Elysia (for `app.handle`).
 */
export function syncHandler(ctx: AppContext) {
  const { clock } = ctx
  // The headers of the bodies served, built once per ETag (one per store and period asked for).
  const served = new Map<string, Headers>()
  const headersFor = (etag: string) => {
    let headers = served.get(etag)
    if (!headers) {
      // A bound on memory: past it, start over (a Headers is cheap to build again).
      if (served.size >= SERVED_HEADERS_KEPT) served.clear()
      headers = new Headers({ 'content-type': 'application/json; charset=utf-8', etag })
      served.set(etag, headers)
    }
    return headers
  }

  return fastRoute(ctx.config, async (request: Request, server: AddressSource) => {
    const address = clientAddress(ctx, request, server)
    const call = new ApiCall(ctx, address)
    const finish = (response: Response, error: string | null) => call.finish(response, error)
    const fail = (caught: unknown) => {
      // Another process holding the database (503, retry) is no failed sync; whatever else
      // breaks past the checks is one, in the contract's words.
      const err = caught instanceof AppError || isBusy(caught) ? caught : new SyncFailed(caught)
      if (err instanceof SyncFailed) console.error('Sync failed:', err.cause)
      return finish(errorResponse(err), (err as Error).message)
    }
    const ok = (result: SyncResult) =>
      finish(new Response(result.body, { headers: headersFor(result.etag) }), null)
    const answer = (store: Store, text: string) => {
      try {
        const { compare, ...asked } = parseSyncBody(text)
        const request: SyncRequest = { ...asked, trigger: 'api', strictFrequency: true }
        // A body checked against the store's current revision is answered in the same turn.
        const current = currentSync(ctx.data, store, request, clock)
        if (compare) {
          // The period's body as without `compare`, then the comparison appended to it.
          const result = current
            ? Promise.resolve(current)
            : syncPeriod(ctx.data, store, request, clock)
          return result
            .then((r) => withComparison(ctx.data, store, r, compare, clock))
            .then(ok, fail)
        }
        if (current) return ok(current)
        return syncPeriod(ctx.data, store, request, clock).then(ok, fail)
      } catch (caught) {
        return fail(caught)
      }
    }

    let keyStore: Store
    try {
      const checked = await throttledKey(ctx, address, request.headers, 'export', clock)
      call.keyId = checked.key.id
      call.store = keyStore = checked.store
      if (
        !(cachedSettings(ctx.data, keyStore) ?? (await readSettings(ctx.data, keyStore)))
          .api_enabled
      )
        throw new Forbidden('API is deactivated')
    } catch (caught) {
      return fail(caught)
    }
    // A request without a body (the usual call) is answered in the same turn.
    if (!hasBody(request)) return answer(keyStore, '')
    return readBodyText(request, SYNC_BODY_LIMIT).then((text) => answer(keyStore, text), fail)
  })
}

/** The sync API as an Elysia route, running `handler` (built by `syncHandler`). */
export function syncRoutes(handler: ReturnType<typeof syncHandler>) {
  return new Elysia({ name: 'sync' }).post(
    SYNC_PATH,
    ({ request, server }) => handler(request, server),
    { parse: 'none' },
  )
}
