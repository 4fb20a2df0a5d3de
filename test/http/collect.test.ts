import { Database } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { DATABASE_FILE } from '../../src/db/database.ts'
import { createTestApp, listen, sqliteOnly, type TestApp } from '../utils.ts'

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

describe('GET /mida.js', () => {
  let t: TestApp
  beforeEach(async () => {
    t = await createTestApp()
  })
  afterEach(() => t.close())

  test('the tracker, at most 2 KB gzipped, cacheable, revalidated by ETag', async () => {
    const source = await Bun.file(new URL('../../src/tracker/mida.js', import.meta.url)).text()
    expect(Bun.gzipSync(source).length).toBeLessThanOrEqual(2048)
    const plain = await t.request('/mida.js')
    expect(plain.status).toBe(200)
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(plain.headers.get('cache-control')).toBe(
      'public, max-age=3600, stale-while-revalidate=86400',
    )
    expect(await plain.text()).toBe(source)
    const gzipped = await t.request('/mida.js', { headers: { 'accept-encoding': 'gzip, br' } })
    expect(gzipped.headers.get('content-encoding')).toBe('gzip')
    const bytes = new Uint8Array(await gzipped.arrayBuffer())
    expect(bytes.length).toBeLessThanOrEqual(2048)
    expect(new TextDecoder().decode(Bun.gunzipSync(bytes))).toBe(source)
    const etag = plain.headers.get('etag')!
    const again = await t.request('/mida.js', { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
  })

  test('the tracker uses no eval and nothing past ES2017', async () => {
    const source = (await (await t.request('/mida.js')).text()).replace(/^\s*\/\/.*$/gm, '')
    expect(source).not.toMatch(/\beval\(|new Function|\?\.|\?\?|catch \{/)
  })
})

describe('POST /apiv1/collect', () => {
  let t: TestApp
  beforeEach(async () => {
    t = await createTestApp({ now: '2026-11-25T15:00:00Z' })
  })
  afterEach(() => t.close())

  const event = (fields: Record<string, unknown> = {}) =>
    JSON.stringify({
      store: t.store.trackingId,
      visitor: 'visitor-0001',
      event: 'pageview',
      url: 'https://shop.example/',
      referrer: '',
      ...fields,
    })
  const post = (body: string, headers: Record<string, string> = {}) =>
    t.request('/apiv1/collect', {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': DESKTOP, ...headers },
    })
  const sessions = () =>
    t.data.all('SELECT visitor_id, pageviews, source, landing_page FROM sessions')

  // PostgreSQL has no busy timeout: a writer waits for the lock it needs.
  sqliteOnly(
    'while another process holds the write lock past the busy timeout: 503 with Retry-After, then it works (SQLite only)',
    async () => {
      t.db.exec('PRAGMA busy_timeout = 100') // the server waits 5 s; no need here
      const other = new Database(join(t.dir, DATABASE_FILE))
      other.exec('BEGIN IMMEDIATE')
      const res = await post(event())
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('5')
      expect(await res.json()).toEqual({
        success: false,
        error: 'The database is busy with another process writing (an import?); try again',
      })
      other.exec('ROLLBACK')
      other.close()
      expect((await post(event())).status).toBe(204)
      expect(await sessions()).toHaveLength(1)
    },
  )

  test('an event from a sendBeacon (text/plain) is recorded before the answer; no IP is kept', async () => {
    const res = await post(event({ referrer: 'https://www.bing.com/' }), {
      origin: 'https://shop.example',
      'x-forwarded-for': '203.0.113.9',
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(await sessions()).toEqual([
      { visitor_id: 'visitor-0001', pageviews: 1, source: 'organic', landing_page: '/' },
    ])
    const rows = await t.data.all<Record<string, unknown>>('SELECT * FROM sessions')
    expect(Object.keys(rows[0] ?? {}).join(',')).not.toMatch(/ip|address|agent/i)
    expect(JSON.stringify(rows)).not.toContain('203.0.113.9')
  })

  test('bots get the same answer and are not counted', async () => {
    const res = await post(event(), { 'user-agent': GOOGLEBOT })
    expect(res.status).toBe(204)
    expect(await sessions()).toEqual([])
  })

  test('bad events are refused with what is wrong', async () => {
    const cases: [string, number, string][] = [
      ['not json', 400, 'Body is not valid JSON'],
      [event({ event: 'purchase' }), 400, 'event: must be pageview, add_to_cart or checkout'],
      [event({ visitor: 'x' }), 400, 'visitor: must be 8 to 64 letters, digits, "-" or "_"'],
      [event({ url: 'javascript:alert(1)' }), 400, 'url: must be an http(s) URL'],
      [event({ store: 'MIDA-nope' }), 404, 'Unknown tracking id'],
      [
        event({ url: `https://shop.example/${'x'.repeat(20000)}` }),
        413,
        'Body is too large: at most 16 KB',
      ],
    ]
    for (const [body, status, error] of cases) {
      const res = await post(body)
      expect({ status: res.status, body: await res.json() }).toEqual({
        status,
        body: { success: false, error },
      })
    }
    expect(await sessions()).toEqual([])
  })

  test('allowed_origins limits who may post; an empty list allows any origin', async () => {
    expect((await post(event(), { origin: 'https://anything.example' })).status).toBe(204)
    await t.data.run('DELETE FROM sessions')
    await t.request('/apiv1/collect', { method: 'OPTIONS' })
    const { updateSettings } = await import('../../src/domain/settings.ts')
    await updateSettings(t.data, t.store, { allowed_origins: 'https://shop.example' }, t.clock)
    const refused = await post(event(), { origin: 'https://evil.example' })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toEqual({ success: false, error: 'Origin not allowed' })
    expect(refused.headers.get('access-control-allow-origin')).toBeNull()
    expect((await post(event())).status).toBe(403)
    const allowed = await post(event(), { origin: 'https://shop.example' })
    expect(allowed.status).toBe(204)
    expect(await sessions()).toHaveLength(1)
  })

  test('OPTIONS preflight for JSON clients', async () => {
    const ok = await t.request('/apiv1/collect', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS')
    expect(ok.headers.get('access-control-allow-headers')).toBe('Content-Type')
    const { updateSettings } = await import('../../src/domain/settings.ts')
    await updateSettings(t.data, t.store, { allowed_origins: 'https://shop.example' }, t.clock)
    const refused = await t.request('/apiv1/collect', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example' },
    })
    expect(refused.status).toBe(403)
  })

  test('a burst of concurrent events is batched and each one acknowledged once written', async () => {
    const revision = async () =>
      (await t.data.get<{ r: number }>('SELECT data_revision AS r FROM stores'))?.r ?? 0
    const before = await revision()
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post(
          event({
            visitor: `visitor-${String(i % 8).padStart(4, '0')}`,
            url: `https://shop.example/p${i}`,
          }),
        ),
      ),
    )
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(204))
    expect(await t.data.get('SELECT count(*) AS n, sum(pageviews) AS pv FROM sessions')).toEqual({
      n: 8,
      pv: 40,
    })
    // one transaction per flush, not per event
    expect((await revision()) - before).toBeLessThanOrEqual(3)
  })
})

describe("POST /apiv1/collect: Bun's router and Elysia's route", () => {
  let t: TestApp
  let server: { url: string; stop: () => Promise<void> }
  beforeEach(async () => {
    t = await createTestApp({ now: '2026-11-25T15:00:00Z' })
    server = listen(t.app)
  })
  afterEach(async () => {
    await server.stop()
    t.close()
  })

  test('answer alike: status, headers (security and CORS) and bytes, for every outcome', async () => {
    const { updateSettings } = await import('../../src/domain/settings.ts')
    await updateSettings(t.data, t.store, { allowed_origins: 'https://shop.example' }, t.clock)
    const body = (fields: Record<string, unknown> = {}) =>
      JSON.stringify({
        store: t.store.trackingId,
        visitor: 'visitor-0001',
        event: 'pageview',
        url: 'https://shop.example/',
        ...fields,
      })
    const calls: [string, Record<string, string>, number][] = [
      [body(), { origin: 'https://shop.example' }, 204],
      [body(), { origin: 'https://evil.example' }, 403],
      [body({ store: 'MIDA-nope' }), { origin: 'https://shop.example' }, 404],
      ['not json', { origin: 'https://shop.example' }, 400],
      [body(), { origin: 'https://shop.example', 'user-agent': GOOGLEBOT }, 204],
    ]
    const shape = async (res: Response) => {
      const headers = Object.fromEntries(res.headers)
      delete headers.date
      delete headers['content-length']
      return { status: res.status, headers, body: await res.text() }
    }
    for (const [text, headers, status] of calls) {
      const init = {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': DESKTOP, ...headers },
        body: text,
      }
      // Over a socket the route is Bun's own (createApp's serve.routes); app.handle goes through Elysia.
      const routed = await shape(await fetch(`${server.url}/apiv1/collect`, init))
      const handled = await shape(await t.request('/apiv1/collect', init))
      expect(handled).toEqual(routed)
      expect(routed.status).toBe(status)
      expect(routed.headers['x-content-type-options']).toBe('nosniff')
      expect(routed.headers['content-security-policy']).toContain("default-src 'none'")
      expect(routed.headers.vary).toBe('Origin')
      // The origin is allowed only once the store's list has been checked.
      expect(routed.headers['access-control-allow-origin']).toBe(
        status === 204 ? 'https://shop.example' : undefined,
      )
    }
    // The two good events of a person, one per route; the bot's were dropped.
    expect(await t.data.all('SELECT pageviews FROM sessions')).toEqual([{ pageviews: 2 }])
  })

  test('over a socket: a body past 16 KB gets 413, a chunked one too, and nothing is stored', async () => {
    const big = JSON.stringify({
      store: t.store.trackingId,
      visitor: 'visitor-0001',
      event: 'pageview',
      url: `https://shop.example/${'x'.repeat(20_000)}`,
    })
    const declared = await fetch(`${server.url}/apiv1/collect`, {
      method: 'POST',
      headers: { 'user-agent': DESKTOP },
      body: big,
    })
    const chunked = await fetch(`${server.url}/apiv1/collect`, {
      method: 'POST',
      headers: { 'user-agent': DESKTOP },
      body: new Blob([big]).stream(),
    })
    for (const res of [declared, chunked]) {
      expect(res.status).toBe(413)
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(await res.json()).toEqual({
        success: false,
        error: 'Body is too large: at most 16 KB',
      })
    }
    expect(await t.data.get('SELECT count(*) AS n FROM sessions')).toEqual({ n: 0 })
  })
})

describe('the Tracking section of the settings page', () => {
  let t: TestApp
  let cookie: string
  let csrf: string
  beforeEach(async () => {
    t = await createTestApp({
      now: '2026-11-25T15:00:00Z',
      env: { MIDA_BASE_URL: 'https://mida.shop.example' },
      settings: { timezone: 'America/New_York' },
    })
    const { createOrResetAdmin, startSession } = await import('../../src/domain/admins.ts')
    const { admin } = await createOrResetAdmin(
      t.data,
      'me@shop.example',
      'a good password',
      t.clock,
    )
    const s = await startSession(t.data, admin.id, t.clock)
    cookie = `mida_session=${s.token}`
    csrf = s.csrfToken
  })
  afterEach(() => t.close())

  test('shows the snippet, the webhook URL, never the secret; saves origins and secret', async () => {
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    const id = t.store.trackingId
    expect(page).toContain(
      `&lt;script defer src=&quot;https://mida.shop.example/mida.js&quot; data-store=&quot;${id}&quot;&gt;&lt;/script&gt;`,
    )
    expect(page).toContain('https://mida.shop.example/apiv1/webhooks/shopify/orders')
    expect(page).toContain(
      'Today so far (<span>America/New_York</span>): <strong>0</strong> sessions',
    )
    expect(page).toContain('just before <code>&lt;/head&gt;</code>')
    const saved = await t.request('/settings', {
      method: 'POST',
      headers: { cookie, 'hx-request': 'true', 'x-csrf-token': csrf },
      body: new URLSearchParams({
        allowed_origins: 'https://shop.example, https://shop.myshopify.com',
        shopify_webhook_secret: 'shpss_secret_value',
      }),
    })
    expect(saved.status).toBe(200)
    const { readSettings } = await import('../../src/domain/settings.ts')
    expect(await readSettings(t.data, t.store)).toMatchObject({
      allowed_origins: 'https://shop.example,https://shop.myshopify.com',
      shopify_webhook_secret: 'shpss_secret_value',
    })
    const again = await (await t.request('/settings', { headers: { cookie } })).text()
    expect(again).not.toContain('shpss_secret_value')
    expect(again).toContain('A secret is saved; it is never shown.')
  })

  test("today's live count is for admins only and counts today's sessions and orders", async () => {
    const anonymous = await t.request('/settings/tracking/today', {
      headers: { 'hx-request': 'true' },
    })
    expect(anonymous.status).toBe(401)
    await t.request('/apiv1/collect', {
      method: 'POST',
      headers: { 'user-agent': DESKTOP },
      body: JSON.stringify({
        store: t.store.trackingId,
        visitor: 'visitor-0001',
        event: 'pageview',
        url: 'https://shop.example/',
      }),
    })
    const { writeOrders } = await import('../../src/domain/ingest/writers.ts')
    const at = (s: string) => Temporal.Instant.from(s).epochMilliseconds
    await writeOrders(
      t.data,
      t.store,
      [
        { id: 'today', created_at: at('2026-11-25T14:00:00Z'), total_price: 100 },
        { id: 'yesterday', created_at: at('2026-11-25T04:59:59Z'), total_price: 100 },
        { id: 'test', created_at: at('2026-11-25T14:00:00Z'), total_price: 100, test: true },
      ],
      t.clock,
    )
    const res = await t.request('/settings/tracking/today', {
      headers: { cookie, 'hx-request': 'true' },
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain(
      'Today so far (<span>America/New_York</span>): <strong>1</strong> sessions, <strong>1</strong> orders.',
    )
  })
})
