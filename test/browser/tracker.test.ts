import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { signShopifyBody } from '../../src/domain/webhooks.ts'
import { runCli } from '../../src/main.ts'
import { launchBrowser } from '../browser.ts'
import { captureIo, createTestApp, type TestApp } from '../utils.ts'

// Chromium and two servers: on a loaded 2-core machine a step can take longer than 5 s.
setDefaultTimeout(30_000)

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'
const GOOGLEBOT =
  'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
const SECRET = 'shpss_browser_test'

let t: TestApp
let mida: { url: string; stop: () => Promise<void> }
let shop: ReturnType<typeof Bun.serve>
let browser: Browser
/** Bodies the storefront received on /cart/update.js (the tracker's cart attribute). */
const cartUpdates: unknown[] = []

/** A small Shopify-like storefront on its own origin, loading the tracker from mida-export. */
function storefront(midaUrl: string, trackingId: string) {
  const page = (title: string, body: string, head = '') => `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>${head}
<script>window.Shopify = { routes: { root: '/' } }</script>
<script defer src="${midaUrl}/mida.js" data-store="${trackingId}"></script>
</head><body><h1>${title}</h1>${body}</body></html>`
  const html = (text: string) =>
    new Response(text, { headers: { 'content-type': 'text/html; charset=utf-8' } })
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const url = new URL(request.url)
      const post = request.method === 'POST'
      if (post && url.pathname === '/cart/add') {
        return new Response(null, { status: 302, headers: { location: '/cart' } })
      }
      if (post && url.pathname === '/cart/add.js') return Response.json({ id: 1, quantity: 1 })
      if (post && url.pathname === '/cart/update.js') {
        cartUpdates.push(await request.json())
        return Response.json({ token: 'cart-1' })
      }
      switch (url.pathname) {
        case '/':
          return html(page('Home', '<a id="product" href="/products/tee">Tee</a>'))
        case '/products/tee':
          return html(
            page(
              'Tee',
              `<form method="post" action="/cart/add"><input type="hidden" name="id" value="1">
                 <button id="add-form">Add to cart</button></form>
               <button id="add-fetch">Quick add</button> <button id="add-xhr">Old add</button>
               <button id="variant">Blue</button> <p id="status"></p>
               <script>
                 document.getElementById('add-fetch').onclick = async () => {
                   const r = await fetch('/cart/add.js', { method: 'POST', body: '{"id":1}' })
                   document.getElementById('status').textContent = 'fetch ' + r.status
                 }
                 document.getElementById('add-xhr').onclick = () => {
                   const x = new XMLHttpRequest()
                   x.open('POST', '/cart/add.js')
                   x.onload = () => { document.getElementById('status').textContent = 'xhr ' + x.status }
                   x.send('{"id":1}')
                 }
                 document.getElementById('variant').onclick = () =>
                   history.replaceState({}, '', '/products/tee?variant=2')
               </script>`,
            ),
          )
        case '/cart':
        case '/pages/shipping':
          return html(
            page(
              'Cart',
              `<a id="shipping" href="/pages/shipping">Shipping</a>
               <a id="checkout" href="/checkouts/cn/abc">Check out</a>
               <script>
                 // a single-page app's router
                 document.getElementById('shipping').onclick = (e) => {
                   e.preventDefault()
                   history.pushState({}, '', '/pages/shipping')
                 }
               </script>`,
            ),
          )
        case '/checkouts/cn/abc':
          return html(page('Checkout', '<p>Pay</p>'))
        case '/broken':
          // A theme whose own scripts throw, before and after the tracker.
          return html(
            page(
              'Broken theme',
              `<button id="own">Mine</button> <button id="custom">Custom checkout</button>
               <p id="out"></p>
               <script>
                 document.getElementById('own').onclick = () => {
                   document.getElementById('out').textContent = 'still works'
                 }
                 document.getElementById('custom').onclick = () => window.mida.track('checkout')
                 window.fetch = null
                 undefined.nope()
               </script>
               <script>themeInit()</script>`,
              `<script>throw new Error('theme bug')</script>`,
            ),
          )
        case '/plain':
          return html(`<!doctype html><html><head>
            <script>window.Shopify = { routes: { root: '/' } }</script></head><body></body></html>`)
        default:
          return new Response('not found', { status: 404 })
      }
    },
  })
}

beforeAll(async () => {
  t = await createTestApp({
    now: '2026-11-25T15:00:00Z',
    settings: { timezone: 'UTC', shopify_webhook_secret: SECRET },
  })
  mida = listenCounting(t.app)
  shop = storefront(mida.url, t.store.trackingId)
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  shop?.stop(true)
  await mida?.stop()
  t?.close()
})

/** The tracker events the server answered 204, in the order it answered them. */
const answeredByServer: string[] = []

/**
 * Serves the app through a counting front: each collect event the server acknowledges (it
 * answers only once the event is written) is noted. Counting at the server, not in the browser,
 * also sees a beacon sent while a page unloads, which the browser's request events can miss.
 */
function listenCounting(app: TestApp['app']): { url: string; stop: () => Promise<void> } {
  const front = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const isEvent =
        request.method === 'POST' && new URL(request.url).pathname === '/apiv1/collect'
      const body = isEvent ? await request.clone().text() : null
      const response = await app.handle(request)
      if (body !== null && response.status === 204) answeredByServer.push(JSON.parse(body).event)
      return response
    },
  })
  return { url: `http://127.0.0.1:${front.port}`, stop: async () => void front.stop(true) }
}

/**
 * The events the server has answered since this page was opened, and a bounded wait until it
 * has answered a given number of them.
 */
function watchEvents() {
  const from = answeredByServer.length
  return {
    get answered() {
      return answeredByServer.slice(from)
    },
    async until(count: number) {
      const deadline = Date.now() + 10_000
      while (answeredByServer.length - from < count) {
        if (Date.now() > deadline) {
          const got = answeredByServer.slice(from)
          throw new Error(`expected ${count} events, got ${got.length}: ${got}`)
        }
        await Bun.sleep(10)
      }
    },
  }
}

async function newPage(userAgent: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ userAgent })
  return { context, page: await context.newPage() }
}

const sessions = () =>
  t.data.all<Record<string, unknown>>(
    `SELECT visitor_id, started_at, ended_at, pageviews, device, source, landing_page,
       viewed_product, added_to_cart, reached_checkout FROM sessions ORDER BY started_at`,
  )

const ms = (at: string) => Temporal.Instant.from(at).epochMilliseconds

test("a shopper's visit on another origin is one session with its pageviews, flags, device and source", async () => {
  const { context, page } = await newPage(DESKTOP)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const events = watchEvents()
  const shopUrl = `http://127.0.0.1:${shop.port}`

  // lands from a Google ad
  await page.goto(`${shopUrl}/?utm_source=google&utm_medium=cpc&gclid=abc`)
  await events.until(1)
  t.clock.advance({ minutes: 1 })
  await page.click('#product')
  await page.waitForURL(`${shopUrl}/products/tee`)
  await events.until(2)
  // choosing a variant rewrites the query only: no new pageview
  await page.click('#variant')
  t.clock.advance({ minutes: 1 })
  await page.click('#add-fetch')
  await page.waitForSelector('text=fetch 200')
  await events.until(3)
  await page.click('#add-xhr')
  await page.waitForSelector('text=xhr 200')
  await events.until(4)
  t.clock.advance({ minutes: 1 })
  await page.click('#add-form')
  await page.waitForURL(`${shopUrl}/cart`)
  await events.until(6)
  t.clock.advance({ minutes: 1 })
  // a single-page navigation and back
  await page.click('#shipping')
  await events.until(7)
  await page.evaluate(() => history.back())
  await events.until(8)
  t.clock.advance({ minutes: 1 })
  await page.click('#checkout')
  await page.waitForURL(`${shopUrl}/checkouts/cn/abc`)
  await events.until(9)

  expect(events.answered).toEqual([
    'pageview',
    'pageview',
    'add_to_cart',
    'add_to_cart',
    'add_to_cart',
    'pageview',
    'pageview',
    'pageview',
    'pageview',
  ])
  const visitor = await page.evaluate(() => localStorage.getItem('mida_vid'))
  expect(visitor).toMatch(/^[0-9a-f]{32}$/)
  expect(await sessions()).toEqual([
    {
      visitor_id: visitor,
      started_at: ms('2026-11-25T15:00:00Z'),
      ended_at: ms('2026-11-25T15:05:00Z'),
      pageviews: 6,
      device: 'desktop',
      source: 'paid',
      landing_page: '/',
      viewed_product: 1,
      added_to_cart: 1,
      reached_checkout: 1,
    },
  ])
  // the tracker defines no global but `mida`
  const own = await page.evaluate(() => Object.getOwnPropertyNames(window))
  const plain = await context.newPage()
  await plain.goto(`${shopUrl}/plain`)
  const base = new Set(await plain.evaluate(() => Object.getOwnPropertyNames(window)))
  expect(own.filter((name) => !base.has(name))).toEqual(['mida'])
  expect(errors).toEqual([])

  // The cart page tagged the Shopify cart with the visitor; Shopify copies cart attributes into
  // the order's note_attributes, so the order webhook finds this session.
  expect(cartUpdates).toContainEqual({ attributes: { _mida_visitor: visitor } })
  const order = JSON.stringify({
    id: 7001,
    name: '#7001',
    created_at: '2026-11-25T15:07:00Z',
    updated_at: '2026-11-25T15:07:00Z',
    total_price: '42.00',
    currency: 'USD',
    financial_status: 'paid',
    cancelled_at: null,
    test: false,
    note_attributes: [{ name: '_mida_visitor', value: visitor }],
  })
  const hook = await fetch(`${mida.url}/apiv1/webhooks/shopify/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': 'browser-1',
      'x-shopify-hmac-sha256': signShopifyBody(order, SECRET),
    },
    body: order,
  })
  expect(hook.status).toBe(200)
  const linked = await t.data.get<{ session_id: string }>(
    'SELECT session_id FROM orders WHERE id = ?',
    '7001',
  )
  const sessionId = (await t.data.get<{ id: string }>('SELECT id FROM sessions'))?.id
  expect(linked?.session_id).toBe(sessionId as string)
  await context.close()
})

test("a crawler's visit is not counted", async () => {
  const before = (await sessions()).length
  const { context, page } = await newPage(GOOGLEBOT)
  const events = watchEvents()
  const shopUrl = `http://127.0.0.1:${shop.port}`
  await page.goto(`${shopUrl}/`)
  await events.until(1)
  await page.click('#product')
  await events.until(2)
  expect(events.answered).toEqual(['pageview', 'pageview'])
  expect((await sessions()).length).toBe(before)
  await context.close()
})

test('a page whose own scripts throw still works and is tracked', async () => {
  t.clock.set('2026-11-25T16:00:00Z')
  const { context, page } = await newPage(IPHONE)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const events = watchEvents()
  await page.goto(`http://127.0.0.1:${shop.port}/broken`, { referer: 'https://blog.example/' })
  await events.until(1)
  await page.click('#own')
  await page.waitForSelector('text=still works')
  // the theme broke window.fetch after the tracker wrapped it: mida.track still gets through
  await page.click('#custom')
  await events.until(2)
  expect(events.answered).toEqual(['pageview', 'checkout'])
  expect(errors.some((e) => e.includes('theme bug'))).toBe(true)
  expect(errors.some((e) => e.includes('themeInit'))).toBe(true)
  expect(errors.every((e) => !e.includes('mida'))).toBe(true)
  expect((await sessions()).at(-1)).toMatchObject({
    started_at: ms('2026-11-25T16:00:00Z'),
    pageviews: 1,
    device: 'mobile',
    source: 'referral',
    landing_page: '/broken',
    reached_checkout: 1,
  })
  await context.close()

  // Everything the storefront sent, as `stats` shows it: two sessions, the crawler not among them.
  const database: Record<string, string> = t.config.databaseUrl
    ? { MIDA_DATABASE_URL: t.config.databaseUrl }
    : {}
  const io = captureIo(t.dir, '', { MIDA_DATA_DIR: t.dir, ...database })
  expect(await runCli(['stats', '--json', '--from', '2026-11-25'], io, t.clock)).toBe(0)
  expect(JSON.parse(io.stdout())).toMatchObject({
    total_visitors: 2,
    total_sessions: 2,
    total_pageviews: 7,
    successful_orders: 1,
    total_revenue: 42,
    abandoned_checkouts: 1,
    devices: { desktop: 1, mobile: 1, tablet: 0 },
    sources: { direct: 0, organic: 0, paid: 1, referral: 1 },
    funnel: { sessions: 2, viewed_product: 1, added_to_cart: 1, reached_checkout: 2, ordered: 1 },
  })
})
