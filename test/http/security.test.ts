import { afterEach, describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { CONTENT_SECURITY_POLICY } from '../../src/http/security.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

let t: TestApp
afterEach(() => t?.close())

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

function securityHeaders(res: Response) {
  return {
    csp: res.headers.get('content-security-policy'),
    nosniff: res.headers.get('x-content-type-options'),
    frame: res.headers.get('x-frame-options'),
    referrer: res.headers.get('referrer-policy'),
  }
}
const EXPECTED_HEADERS = {
  csp: CONTENT_SECURITY_POLICY,
  nosniff: 'nosniff',
  frame: 'DENY',
  referrer: 'no-referrer',
}

describe('security headers', () => {
  test('every response carries them: pages, API answers, errors, 404s, assets, the tracker', async () => {
    t = await createTestApp({ settings: { api_enabled: 'true' } })
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    )
    const requests: [string, RequestInit | undefined, number][] = [
      ['/login', undefined, 200],
      ['/settings', undefined, 303],
      ['/healthz', undefined, 200],
      ['/apiv1/analytics/sync', { method: 'POST' }, 401],
      ['/apiv1/analytics/sync', { method: 'POST', headers: { 'x-mida-secret-key': key } }, 200],
      ['/nowhere', undefined, 404],
      ['/assets/htmx.min.js', undefined, 200],
      ['/mida.js', undefined, 200],
      ['/apiv1/collect', { method: 'POST', body: 'nope' }, 400],
    ]
    for (const [path, init, status] of requests) {
      const res = await t.request(path, init)
      expect({ path, status: res.status, ...securityHeaders(res) }).toEqual({
        path,
        status,
        ...EXPECTED_HEADERS,
      })
    }
    expect((await t.request('/healthz')).headers.get('strict-transport-security')).toBeNull()
  })

  test('the tracker keeps its own cross-origin headers; collect answers CORS preflights', async () => {
    t = await createTestApp()
    const js = await t.request('/mida.js')
    expect(js.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const preflight = await t.request('/apiv1/collect', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example')
  })

  test('an https public URL adds Strict-Transport-Security', async () => {
    t = await createTestApp({ env: { MIDA_BASE_URL: 'https://analytics.example' } })
    expect((await t.request('/login')).headers.get('strict-transport-security')).toBe(
      'max-age=31536000',
    )
  })
})

describe('body limits', () => {
  test('a declared Content-Length over the route limit gets 413 naming the limit', async () => {
    t = await createTestApp()
    const cases: [string, number, string, string][] = [
      ['/apiv1/analytics/sync', 16 * 1024 + 1, 'application/json', 'at most 16 KB'],
      ['/apiv1/collect', 16 * 1024 + 1, 'application/json', 'at most 16 KB'],
      ['/apiv1/webhooks/shopify/orders', 2 * 1024 * 1024 + 1, 'application/json', 'at most 2 MB'],
    ]
    for (const [path, size, type, limit] of cases) {
      const res = await t.request(path, {
        method: 'POST',
        headers: { 'content-length': String(size) },
        body: 'x'.repeat(size),
      })
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({
        path,
        status: 413,
        type: `${type}; charset=utf-8`,
      })
      expect(await res.json()).toEqual({ success: false, error: `Body is too large: ${limit}` })
    }
    const form = await t.request('/login', {
      method: 'POST',
      headers: { 'content-length': String(64 * 1024 + 1) },
      body: 'x'.repeat(64 * 1024 + 1),
    })
    expect(form.status).toBe(413)
    expect(form.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await form.text()).toBe(
      '<p class="error" role="alert">Body is too large: at most 64 KB</p>',
    )
  })

  test('over a real socket: chunked bodies are cut at the limit or need a Content-Length', async () => {
    t = await createTestApp()
    const server = listen(t.app)
    try {
      const chunked = (size: number) =>
        new ReadableStream<Uint8Array>({
          start(c) {
            for (let sent = 0; sent < size; sent += 4096) c.enqueue(new Uint8Array(4096).fill(97))
            c.close()
          },
        })
      // A chunked event larger than 16 KB: collect counts the bytes and stops at the limit.
      const collect = await fetch(`${server.url}/apiv1/collect`, {
        method: 'POST',
        body: chunked(40 * 1024),
        duplex: 'half',
      } as RequestInit)
      expect(collect.status).toBe(413)
      expect(await collect.json()).toEqual({
        success: false,
        error: 'Body is too large: at most 16 KB',
      })
      // A form route needs to know the size up front.
      const form = await fetch(`${server.url}/login`, {
        method: 'POST',
        body: chunked(8 * 1024),
        duplex: 'half',
      } as RequestInit)
      expect(form.status).toBe(411)
      expect(await form.text()).toBe(
        '<p class="error" role="alert">Send the body with a Content-Length (at most 64 KB)</p>',
      )
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    } finally {
      await server.stop()
    }
  })
})

describe('abuse limits: configurable, each answered 429 with Retry-After', () => {
  test('MIDA_KEY_ATTEMPTS, MIDA_LOGIN_ATTEMPTS and MIDA_COLLECT_RATE are read and validated', () => {
    const config = loadConfig({
      env: {
        MIDA_KEY_ATTEMPTS: '3/2m',
        MIDA_LOGIN_ATTEMPTS: '4',
        MIDA_COLLECT_RATE: '30/30s',
      },
      cwd: '/nonexistent',
    })
    expect([config.keyAttempts, config.loginAttempts, config.collectRate]).toEqual([
      { max: 3, windowMs: 120_000 },
      { max: 4, windowMs: 900_000 },
      { max: 30, windowMs: 30_000 },
    ])
    const defaults = loadConfig({ env: {}, cwd: '/nonexistent' })
    expect([defaults.keyAttempts, defaults.loginAttempts, defaults.collectRate]).toEqual([
      { max: 10, windowMs: 900_000 },
      { max: 5, windowMs: 900_000 },
      { max: 120, windowMs: 60_000 },
    ])
    for (const bad of ['0', 'ten', '5/15x', '5/0m', '-1']) {
      expect(() => loadConfig({ env: { MIDA_COLLECT_RATE: bad }, cwd: '/nonexistent' })).toThrow(
        new ConfigError(
          `Invalid MIDA_COLLECT_RATE: expected a count, optionally per window, such as 120 or 120/1m (s, m or h), got ${JSON.stringify(bad)}`,
        ),
      )
    }
  })

  test('failed API-key attempts (sync and import share the count)', async () => {
    t = await createTestApp({ env: { MIDA_KEY_ATTEMPTS: '2/1m' }, settings: { api_enabled: true } })
    const good = (await createApiKey(t.data, t.store, 'good', 'export', t.clock)).secret
    const sync = (key: string) =>
      t.request('/apiv1/analytics/sync', { method: 'POST', headers: { 'x-mida-secret-key': key } })
    expect((await sync('mida_sk_wrong')).status).toBe(401)
    const importWrong = await t.request('/apiv1/import/sessions', {
      method: 'POST',
      headers: { 'x-mida-secret-key': 'mida_sk_wrong' },
      body: '',
    })
    expect(importWrong.status).toBe(401)
    const blocked = await sync(good)
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toBe('60')
    expect(await blocked.json()).toEqual({
      success: false,
      error: 'Too many failed attempts, try again later',
    })
    t.clock.advance({ seconds: 60 })
    expect((await sync(good)).status).toBe(200)
  })

  test('failed logins', async () => {
    t = await createTestApp({ env: { MIDA_LOGIN_ATTEMPTS: '2/10m' } })
    await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
    const login = async (password: string) => {
      const page = await t.request('/login')
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
      return t.request('/login', {
        method: 'POST',
        headers: { cookie: page.headers.get('set-cookie')!.split(';')[0]! },
        body: new URLSearchParams({ _csrf: csrf, email: 'me@shop.example', password }),
      })
    }
    expect((await login('wrong one')).status).toBe(401)
    expect((await login('wrong two')).status).toBe(401)
    const blocked = await login('a good password')
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toBe('600')
    expect(await blocked.text()).toContain('Too many failed logins. Try again in 10 minutes.')
    t.clock.advance({ minutes: 10 })
    expect((await login('a good password')).status).toBe(303)
  })

  test('collect events per visitor; other visitors are not affected', async () => {
    t = await createTestApp({ env: { MIDA_COLLECT_RATE: '3/1m' } })
    const post = (visitor: string) =>
      t.request('/apiv1/collect', {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          'user-agent': DESKTOP,
          origin: 'https://a.example',
        },
        body: JSON.stringify({
          store: t.store.trackingId,
          visitor,
          event: 'pageview',
          url: 'https://shop.example/',
        }),
      })
    for (let i = 0; i < 3; i++) expect((await post('visitor-0001')).status).toBe(204)
    const blocked = await post('visitor-0001')
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toBe('60')
    expect(blocked.headers.get('access-control-allow-origin')).toBe('https://a.example')
    expect(await blocked.json()).toEqual({
      success: false,
      error: 'Too many events from this visitor',
    })
    expect((await post('visitor-0002')).status).toBe(204)
    t.clock.advance({ seconds: 30 })
    expect((await post('visitor-0001')).headers.get('retry-after')).toBe('30')
    t.clock.advance({ seconds: 30 })
    expect((await post('visitor-0001')).status).toBe(204)
    expect(await t.data.get('SELECT SUM(pageviews) AS n FROM sessions')).toEqual({ n: 5 })
  })
})
