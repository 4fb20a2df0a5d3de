import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { loadConfig } from '../../src/config.ts'
import { type Core, closeCore, openCore } from '../../src/core.ts'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import type { Mailer } from '../../src/domain/mailer.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { createApp } from '../../src/http/app.ts'
import { engineEnv, listen, tempDir } from '../utils.ts'

/**
 * Thousands of random and malformed requests to every route of the real server (a socket, not
 * app.handle), from a fixed seed: none may get a 5xx, and the server must still answer at the end.
 * Some requests carry valid credentials (admin session and CSRF token, API keys, a signed
 * webhook, the tracking id) so that the fuzz reaches the handlers, not only the guards.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261126)
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5000)
const CONCURRENCY = 16

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  const chance = (p: number) => next() < p
  return { next, int, pick, chance }
}
type Rng = ReturnType<typeof prng>

let core: Core | undefined
let cleanup: () => void
let server: { url: string; stop: () => Promise<void> }
let app: ReturnType<typeof createApp>
const sent: string[] = []
const creds = { cookie: '', csrf: '', exportKey: '', ingestKey: '', tracking: '' }
const WEBHOOK_SECRET = 'fuzz-webhook-secret'

beforeAll(async () => {
  const dir = tempDir('mida-fuzz-')
  cleanup = dir.cleanup
  const clock = new FixedClock('2026-11-26T06:00:00Z')
  // Throttles out of the way, so most requests reach the handlers instead of a 429.
  const config = loadConfig({
    env: {
      MIDA_DATA_DIR: dir.dir,
      MIDA_KEY_ATTEMPTS: '1000000',
      MIDA_LOGIN_ATTEMPTS: '1000000',
      MIDA_COLLECT_RATE: '1000000',
      MIDA_COLLECT_IP_RATE: '1000000',
      ...(await engineEnv()),
    },
    cwd: dir.dir,
  })
  // "Send test email" records instead of sending: no socket to a host the fuzz made up.
  const mailer: Mailer = {
    async send(message) {
      sent.push(String(message.subject))
      return { messageId: 'fuzz', response: '250 OK' }
    },
  } as Mailer
  core = await openCore({ config, clock, mailer })
  app = createApp(core)
  const { data } = core
  const store = await ensureDefaultStore(data, clock)
  await updateSettings(
    data,
    store,
    {
      api_enabled: true,
      shopify_webhook_secret: WEBHOOK_SECRET,
      store_email: 'a@shop.example',
      smtp_host: 'smtp.fuzz.example',
    },
    clock,
  )
  const { admin } = await createOrResetAdmin(data, 'fuzz@shop.example', 'a good password', clock)
  const session = await startSession(data, admin.id, clock)
  creds.cookie = `mida_session=${session.token}`
  creds.csrf = session.csrfToken
  creds.exportKey = (await createApiKey(data, store, 'export', 'export', clock)).secret
  creds.ingestKey = (await createApiKey(data, store, 'ingest', 'ingest', clock)).secret
  creds.tracking = store.trackingId
  server = listen(app)
})

afterAll(async () => {
  await server?.stop()
  if (core) await closeCore(core)
  cleanup?.()
})

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND']

const GARBAGE_PATHS = [
  '/',
  '//',
  '/%',
  '/%zz',
  '/%00',
  '/..',
  '/apiv1',
  '/apiv1/',
  '/apiv1/analytics',
  '/apiv1/../settings',
  '/settings/',
  '/settings/keys/',
  '/settings/keys/1',
  '/assets/',
  '/assets/..%2f..%2fetc%2fpasswd',
  '/mida.js/',
  '/favicon.ico',
  '/robots.txt',
  '/.env',
  '/wp-login.php',
  `/${'a'.repeat(5000)}`,
  '/%F0%9F%92%A9',
  '/%ff%fe',
  '/login?next=%',
  '/login?next=//evil.example',
  '/setup?token=%ff',
  '/setup?token[]=1&token[]=2',
  '/settings?saved=%',
  '/settings/tracking/today?x=%E0%A4%A',
]

const PARAM_VALUES = [
  '1',
  '2',
  '3',
  '0',
  '-1',
  '99999999999999999999999',
  'sessions',
  'orders',
  'htmx.min.js',
  'app.css',
  'nope',
  '%00',
  '%ff',
  '..',
  'a'.repeat(3000),
  '1e309',
  'NaN',
  '%F0%9F%92%A9',
]

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-999',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'text/csv',
  'application/x-ndjson',
  '',
  ';;;',
  'application/json'.repeat(500),
  `text/${'x'.repeat(3000)}`,
  'application/xml',
]

function randomBytes(rng: Rng, n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = rng.int(256)
  return out
}

function randomString(rng: Rng, n: number): string {
  const alphabet = 'abcXYZ019 _-.:/?&=%"\'<>{}[],\\\n\t\u00e9\u20ac\ud83d\udca9'
  let s = ''
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)]
  return s
}

/** A JSON value of a random shape: wrong types, nulls, huge numbers, odd keys. */
function randomJson(rng: Rng, depth = 0): unknown {
  const leaf = () =>
    rng.pick<unknown>([
      null,
      true,
      false,
      0,
      -1,
      1e308,
      -0,
      2.5,
      '',
      'daily',
      'weekly',
      '2026-11-25',
      '2026-02-30',
      'pageview',
      'https://shop.example/products/x',
      'javascript:alert(1)',
      '<script>alert(1)</script>',
      randomString(rng, rng.int(40)),
      'x'.repeat(5000),
    ])
  if (depth > 3 || rng.chance(0.4)) return leaf()
  if (rng.chance(0.3)) return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth + 1))
  const keys = [
    'frequency',
    'date',
    'store',
    'visitor',
    'event',
    'url',
    'referrer',
    'id',
    'visitor_id',
    'started_at',
    'created_at',
    'total_price',
    'note_attributes',
    'updated_at',
    'cancelled_at',
    '__proto__',
    'constructor',
    randomString(rng, 8),
  ]
  const obj: Record<string, unknown> = {}
  for (let i = rng.int(6); i > 0; i--) obj[rng.pick(keys)] = randomJson(rng, depth + 1)
  return obj
}

/** A plausible body for the route, mutated: the kind of input each handler actually parses. */
function routeBody(rng: Rng, path: string): string {
  if (path.startsWith('/apiv1/collect')) {
    return JSON.stringify({
      store: rng.chance(0.7) ? creds.tracking : randomString(rng, 12),
      visitor: rng.pick(['visitor-0001', 'v', 'x'.repeat(65), randomString(rng, 12)]),
      event: rng.pick(['pageview', 'add_to_cart', 'checkout', 'purchase', 1]),
      url: rng.pick(['https://shop.example/products/a', 'http://', 'ftp://x', 42, 'https://[::1']),
      referrer: rng.pick(['', 'https://www.google.com/', null, 'x'.repeat(5000)]),
    })
  }
  if (path.startsWith('/apiv1/import/')) {
    const lines = Array.from({ length: rng.int(20) }, () =>
      rng.chance(0.8) ? JSON.stringify(randomJson(rng)) : randomString(rng, rng.int(80)),
    )
    if (rng.chance(0.3)) {
      lines.unshift('Name,Financial Status,Created at,Total,Currency,Cancelled at,Id')
      lines.push('#1,paid,2026-11-20 10:00:00 -0500,10.00,USD,,1', '"unterminated,quote')
    }
    return lines.join(rng.pick(['\n', '\r\n', '\r']))
  }
  if (path.startsWith('/settings') || path === '/login' || path === '/setup') {
    const params = new URLSearchParams()
    const names = [
      '_csrf',
      'store_name',
      'store_email',
      'timezone',
      'currency',
      'week_start',
      'api_enabled',
      'sync_frequency',
      'sync_hour',
      'notify_success',
      'notify_recipient',
      'allowed_origins',
      'smtp_host',
      'smtp_port',
      'smtp_security',
      'smtp_password',
      'name',
      'scope',
      'email',
      'password',
      'password_confirm',
      'token',
      'next',
      'tracking_id',
      'unknown',
    ]
    for (let i = rng.int(8); i > 0; i--) {
      params.append(
        rng.pick(names),
        rng.pick([
          '',
          'true',
          'maybe',
          '25',
          'Mars/Phobos',
          'XXX',
          'https://a.example,not an origin',
          'a@b',
          randomString(rng, rng.int(60)),
          'x'.repeat(3000),
        ]),
      )
    }
    if (rng.chance(0.5)) params.append('_csrf', creds.csrf)
    return params.toString()
  }
  return JSON.stringify(randomJson(rng))
}

/** One random body: route-shaped, random JSON, invalid UTF-8, deep nesting, huge, or empty. */
function randomBody(rng: Rng, path: string): BodyInit | undefined {
  switch (rng.int(10)) {
    case 0:
      return undefined
    case 1:
      return ''
    case 2:
      return randomBytes(rng, rng.int(2000)) // invalid UTF-8 more often than not
    case 3:
      return `${'['.repeat(20_000)}${']'.repeat(20_000)}` // deeply nested JSON
    case 4:
      return `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`
    case 5:
      return JSON.stringify({ frequency: 'daily', pad: 'x'.repeat(rng.pick([15_000, 70_000])) })
    case 6:
      return JSON.stringify(randomJson(rng))
    case 7:
      return `--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\n${randomString(rng, 20)}\r\n--xy`
    default:
      return routeBody(rng, path)
  }
}

function fillParams(rng: Rng, path: string): string {
  return path.replace(/:[a-z]+/g, () => rng.pick(PARAM_VALUES))
}

interface Plan {
  method: string
  path: string
  headers: Record<string, string>
  body: BodyInit | undefined
}

function plan(rng: Rng, routes: { method: string; path: string }[]): Plan {
  const route = rng.pick(routes)
  const method = rng.chance(0.7) ? route.method : rng.pick(METHODS)
  let path = rng.chance(0.85) ? fillParams(rng, route.path) : rng.pick(GARBAGE_PATHS)
  if (rng.chance(0.1))
    path += `?${rng.pick(['a=1', 'next=%', 'v=x&v=y', '%%%', `token=${'a'.repeat(500)}`])}`
  const headers: Record<string, string> = {}
  if (rng.chance(0.7)) headers['content-type'] = rng.pick(CONTENT_TYPES)
  if (rng.chance(0.3)) headers['hx-request'] = rng.pick(['true', 'false', ''])
  if (rng.chance(0.4)) {
    headers.cookie = rng.pick([
      creds.cookie,
      creds.cookie,
      `mida_session=${'x'.repeat(43)}`,
      'mida_session=%E0%A4%A',
      'mida_session',
      `${creds.cookie}; mida_login_csrf=abc`,
      ';;=;',
    ])
  }
  if (rng.chance(0.4)) headers['x-csrf-token'] = rng.pick([creds.csrf, creds.csrf, 'nope', ''])
  // A third of the requests come from the logged-in admin, to get past the guard (but never
  // log it out: the rest of the run would then stop at the guard).
  if (path.startsWith('/logout')) delete headers.cookie
  else if (rng.chance(0.35)) {
    headers.cookie = creds.cookie
    headers['x-csrf-token'] = creds.csrf
  }
  if (rng.chance(0.3)) {
    const key = rng.pick([
      creds.exportKey,
      creds.ingestKey,
      'mida_sk_nope',
      `mida_sk_${'A'.repeat(38)}`,
      'x'.repeat(3000),
    ])
    headers[rng.pick(['x-mida-secret-key', 'mida-api-key', 'authorization'])] =
      headers.authorization === undefined && rng.chance(0.3) ? `Bearer ${key}` : key
  }
  if (rng.chance(0.3)) headers.origin = rng.pick(['https://shop.example', 'null', 'not a url'])
  if (rng.chance(0.2)) headers['user-agent'] = rng.pick(['Googlebot/2.1', '', 'Mozilla/5.0'])
  if (rng.chance(0.2)) headers['x-forwarded-for'] = rng.pick(['203.0.113.9', 'garbage, , ,'])
  if (rng.chance(0.1)) headers['content-encoding'] = 'gzip'
  if (rng.chance(0.1)) headers['if-none-match'] = rng.pick(['*', '"x"', ''])
  if (rng.chance(0.05)) headers['x-huge'] = 'h'.repeat(rng.pick([1000, 20_000]))
  let body = method === 'GET' || method === 'HEAD' ? undefined : randomBody(rng, path)
  // Forms mostly arrive as forms, so their fields reach the validation behind the parser.
  if (/^\/(settings|login|setup)/.test(path) && rng.chance(0.5)) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
  }
  if (path.startsWith('/apiv1/webhooks/') && rng.chance(0.6)) {
    body = rng.chance(0.5) ? JSON.stringify(randomJson(rng)) : JSON.stringify({ id: rng.int(100) })
    headers['x-shopify-topic'] = rng.pick([
      'orders/create',
      'orders/updated',
      'app/uninstalled',
      '',
    ])
    headers['x-shopify-webhook-id'] = rng.pick(['w-1', 'w-2', randomString(rng, 10), ''])
    headers['x-shopify-hmac-sha256'] = rng.chance(0.8)
      ? createHmac('sha256', WEBHOOK_SECRET).update(body).digest('base64')
      : rng.pick(['', 'not base64 !!', 'AAAA'])
  }
  return { method, path, headers, body }
}

describe('fuzz: hostile input never gets a 5xx', () => {
  test(`${REQUESTS} random and malformed requests to every route, then /healthz`, async () => {
    const started = performance.now()
    const rng = prng(SEED)
    const routes = app.routes.map((r) => ({ method: r.method, path: r.path }))
    expect(routes.length).toBeGreaterThan(20)
    const plans = Array.from({ length: REQUESTS }, () => plan(rng, routes))
    const failures: string[] = []
    let answered = 0
    let refusedByClient = 0
    const statuses = new Map<number, number>()
    let next = 0
    const worker = async () => {
      while (next < plans.length) {
        const p = plans[next++] as Plan
        let res: Response
        try {
          res = await fetch(`${server.url}${p.path}`, {
            method: p.method,
            headers: p.headers,
            body: p.body,
            redirect: 'manual',
            signal: AbortSignal.timeout(10_000),
          })
        } catch {
          // fetch itself refused the request (a header it will not send) or Bun dropped a
          // connection it judged malformed: not an answer, so not a 5xx; /healthz proves liveness.
          refusedByClient++
          continue
        }
        answered++
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        const text = await res.text()
        if (res.status >= 500) {
          failures.push(`${p.method} ${p.path.slice(0, 80)} -> ${res.status} ${text.slice(0, 200)}`)
        }
        if (/\bat .*\.(ts|js):\d+/.test(text)) {
          failures.push(`${p.method} ${p.path.slice(0, 80)}: a stack trace in the answer`)
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    if (process.env.FUZZ_DEBUG)
      console.log(answered, refusedByClient, [...statuses].sort(), sent.length)
    expect(failures).toEqual([])
    // Nearly every request got an answer, and the answers were varied (the fuzz went deep).
    expect(answered).toBeGreaterThan(REQUESTS * 0.9)
    expect(refusedByClient).toBeLessThan(REQUESTS * 0.1)
    for (const status of [200, 204, 303, 400, 401, 403, 404, 413, 422]) {
      expect([status, statuses.has(status)]).toEqual([status, true])
    }
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    expect(performance.now() - started).toBeLessThan(30_000)
  }, 60_000)
})
