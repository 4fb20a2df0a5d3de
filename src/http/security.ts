import { Elysia } from 'elysia'
import type { Config } from '../config.ts'
import { formatBytes, InvalidInput, PayloadTooLarge } from '../domain/errors.ts'
import { json } from './context.ts'
import { errorBody } from './errors.ts'

/**
 * The Content-Security-Policy of every response. The pages load only their own script, styles
 * and images (Pico's icons are `data:` SVGs); htmx runs without eval, inline script or inline
 * style (its indicator style is switched off by the `htmx-config` meta tag in views/layout.tsx).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ')

/** Headers on every response; a route's own value for the same header wins (mida.js sets its own). */
function securityHeaders(config: Pick<Config, 'baseUrl'>): Record<string, string> {
  const headers: Record<string, string> = {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  }
  // Only a server reached over https may ask browsers to stay on https.
  if (config.baseUrl.startsWith('https:')) {
    headers['strict-transport-security'] = 'max-age=31536000'
  }
  return headers
}

/**
 * A handler served straight from Bun's router (outside Elysia, for speed), with every answer
 * given the headers the `security` plugin gives Elysia's answers: the same values, and the same
 * rule (a header the handler set itself wins). The one way a route skips Elysia.
 */
export function fastRoute<S>(
  config: Pick<Config, 'baseUrl'>,
  handler: (request: Request, server: S) => Response | Promise<Response>,
): (request: Request, server: S) => Response | Promise<Response> {
  const headers = Object.entries(securityHeaders(config))
  const secure = (response: Response) => {
    for (const [name, value] of headers) {
      if (!response.headers.has(name)) response.headers.set(name, value)
    }
    return response
  }
  return (request, server) => {
    const answer = handler(request, server)
    return answer instanceof Response ? secure(answer) : answer.then(secure)
  }
}

const KB = 1024
const MB = 1024 * KB

/** Bun's own bound on any request body (the largest import); beyond it Bun answers 413 itself. */
export const MAX_REQUEST_BODY_BYTES = 1024 * MB

/**
 * The largest body each route accepts, by path prefix (first match wins; the rest are forms).
 * `counted`: the handler reads the body through `readBody`, so a chunked body (no
 * Content-Length) is cut at the limit too; the other routes need a Content-Length.
 */
const BODY_LIMITS: readonly { prefix: string; bytes: number; counted: boolean }[] = [
  { prefix: '/apiv1/analytics/sync', bytes: 16 * KB, counted: true },
  { prefix: '/apiv1/collect', bytes: 16 * KB, counted: true },
  { prefix: '/apiv1/webhooks/', bytes: 2 * MB, counted: true },
  // Imports are streamed in batches, so a big file never sits in memory whole.
  { prefix: '/apiv1/import/', bytes: MAX_REQUEST_BODY_BYTES, counted: true },
]

/** Login, setup and the settings page's forms. */
const FORM_BODY_LIMIT = 64 * KB

/** The body limit of the route at `pathname`, and whether its handler counts the bytes itself. */
function bodyLimitOf(pathname: string): { bytes: number; counted: boolean } {
  return (
    BODY_LIMITS.find((l) => pathname.startsWith(l.prefix)) ?? {
      bytes: FORM_BODY_LIMIT,
      counted: false,
    }
  )
}

/** The body limit in bytes of the route at `pathname`. */
export function bodyLimitFor(pathname: string): number {
  return bodyLimitOf(pathname).bytes
}

/**
 * Reads a request body, refusing it (PayloadTooLarge) as soon as it passes `limit` bytes, so a
 * chunked body without Content-Length cannot grow past the limit either.
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const length = request.headers.get('content-length')
  const declared = Number(length ?? 0)
  if (declared > limit) throw new PayloadTooLarge(limit)
  if (!request.body) return new Uint8Array(new ArrayBuffer(0))
  // A declared length is what Bun delivers, no more: read it whole (streams cost per chunk).
  if (length !== null && Number.isInteger(declared)) {
    try {
      return new Uint8Array(await request.arrayBuffer())
    } catch {
      throw new InvalidInput('The body could not be read')
    }
  }
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = request.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > limit) throw new PayloadTooLarge(limit)
      chunks.push(value)
    }
  } catch (err) {
    if (err instanceof PayloadTooLarge) await reader.cancel().catch(() => {})
    else throw new InvalidInput('The body could not be read')
    throw err
  } finally {
    reader.releaseLock()
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return body
}

/** A body as text (UTF-8; invalid bytes become U+FFFD), within `limit` bytes. */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  return new TextDecoder().decode(await readBody(request, limit))
}

/** A refusal: the API's JSON shape under /apiv1, an HTML fragment for the pages. */
function refuse(pathname: string, status: number, message: string): Response {
  if (pathname.startsWith('/apiv1/')) return json(errorBody(message), status)
  return new Response(`<p class="error" role="alert">${message}</p>`, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  })
}

/**
 * Security headers on every response, and body limits before routing: a declared Content-Length
 * over the route's limit gets 413; a chunked body gets 411 unless the route's handler counts the
 * bytes itself (Bun holds a request to its Content-Length, so the declared size is the size).
 */
export function security(config: Pick<Config, 'baseUrl'>) {
  const headers = securityHeaders(config)
  // `headers` seeds every request's `set.headers`: no per-request hook merges them.
  return new Elysia({ name: 'security' }).headers(headers).onRequest(({ request }) => {
    const declared = request.headers.get('content-length')
    const chunked = /chunked/i.test(request.headers.get('transfer-encoding') ?? '')
    // No body, or a declared empty one: nothing to bound.
    if ((!declared || declared === '0') && !chunked) return
    const { pathname } = new URL(request.url)
    const limit = bodyLimitOf(pathname)
    if (Number(declared) > limit.bytes) {
      return refuse(pathname, 413, new PayloadTooLarge(limit.bytes).message)
    }
    if (chunked && !declared && !limit.counted) {
      return refuse(
        pathname,
        411,
        `Send the body with a Content-Length (at most ${formatBytes(limit.bytes)})`,
      )
    }
  })
}
