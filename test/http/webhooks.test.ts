import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { writeSessions } from '../../src/domain/ingest/writers.ts'
import type { SessionRecord } from '../../src/domain/records.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { signShopifyBody, verifyShopifyHmac } from '../../src/domain/webhooks.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, createTestApp, listen, type TestApp } from '../utils.ts'

/** Where the CLI finds the app's database: its directory, and on PostgreSQL runs its URL. */
const cliEnv = (t: TestApp): Record<string, string> => ({
  MIDA_DATA_DIR: t.dir,
  ...(t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}),
})

const SECRET = 'shpss_0123456789abcdef'

/** A Shopify order payload, trimmed to what matters plus some of the noise Shopify sends. */
function shopifyOrder(fields: Record<string, unknown>) {
  return {
    id: 5_550_001,
    admin_graphql_api_id: 'gid://shopify/Order/5550001',
    name: '#1001',
    email: 'ann@example.com',
    created_at: '2026-11-20T10:20:00-05:00',
    updated_at: '2026-11-20T10:20:05-05:00',
    cancelled_at: null,
    currency: 'USD',
    financial_status: 'paid',
    total_price: '199.00',
    subtotal_price: '180.00',
    test: false,
    landing_site: '/',
    note_attributes: [],
    line_items: [{ id: 1, title: 'Tee', quantity: 2, price: '90.00' }],
    ...fields,
  }
}

const session = (id: string, visitor: string, start: string): SessionRecord => {
  const at = Temporal.Instant.from(start).epochMilliseconds
  return {
    id,
    visitor_id: visitor,
    started_at: at,
    ended_at: at + 600_000,
    pageviews: 4,
    device: 'desktop',
    source: 'direct',
    landing_page: '/',
    viewed_product: true,
    added_to_cart: true,
    reached_checkout: true,
  }
}

describe('POST /apiv1/webhooks/shopify/orders', () => {
  let t: TestApp
  let delivery = 0
  beforeEach(async () => {
    t = await createTestApp({
      now: '2026-11-20T16:00:00Z',
      settings: { timezone: 'America/New_York', shopify_webhook_secret: SECRET },
    })
  })
  afterEach(() => t.close())

  const deliver = (
    order: unknown,
    options: {
      topic?: string
      id?: string
      secret?: string | null
      tamper?: boolean
      /** A real server's URL to post to, instead of calling the app in-process. */
      server?: string
    } = {},
  ) => {
    const body = JSON.stringify(order)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-shopify-topic': options.topic ?? 'orders/create',
      'x-shopify-webhook-id': options.id ?? `delivery-${++delivery}`,
      'x-shopify-shop-domain': 'shop.myshopify.com',
    }
    if (options.secret !== null)
      headers['x-shopify-hmac-sha256'] = signShopifyBody(body, options.secret ?? SECRET)
    const init = {
      method: 'POST',
      headers,
      body: options.tamper ? body.replace('199.00', '1.00') : body,
    }
    if (options.server) return fetch(`${options.server}/apiv1/webhooks/shopify/orders`, init)
    return t.request('/apiv1/webhooks/shopify/orders', init)
  }
  const orderCount = async () =>
    (await t.data.get<{ n: number }>('SELECT count(*) AS n FROM orders'))?.n
  const stats = async (date: string) => {
    const io = captureIo(t.dir, '', cliEnv(t))
    expect(await runCli(['stats', '--json', '--from', date, '--to', date], io, t.clock)).toBe(0)
    return JSON.parse(io.stdout())
  }

  test('the signature is checked on the raw bytes, in constant time', () => {
    const body = new TextEncoder().encode('{"id":1}')
    const good = signShopifyBody(body, SECRET)
    expect(verifyShopifyHmac(body, SECRET, good)).toBe(true)
    expect(verifyShopifyHmac(body, 'other', good)).toBe(false)
    expect(verifyShopifyHmac(body, SECRET, null)).toBe(false)
    expect(verifyShopifyHmac(body, SECRET, 'AAAA')).toBe(false)
    expect(verifyShopifyHmac(body, '', good)).toBe(false)
  })

  test('a correctly signed order is stored at once; bad, missing or stale signatures get 401', async () => {
    const started = performance.now()
    const ok = await deliver(shopifyOrder({}))
    expect(performance.now() - started).toBeLessThan(1000)
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ success: true, result: 'applied', order_id: '5550001' })
    expect(
      await t.data.all('SELECT id, name, total_price_cents, financial_status FROM orders'),
    ).toEqual([
      { id: '5550001', name: '#1001', total_price_cents: 19900, financial_status: 'paid' },
    ])
    for (const options of [{ secret: 'wrong-secret' }, { secret: null }, { tamper: true }]) {
      const res = await deliver(shopifyOrder({ id: 5_550_002 }), options)
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({
        success: false,
        error: 'Invalid webhook signature',
      })
    }
    expect(await orderCount()).toBe(1)
  })

  test('without a configured secret every delivery is refused with the bad-signature answer, logged once', async () => {
    const { url: server, stop } = listen(t.app)
    const warn = spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const badSignature = await deliver(shopifyOrder({}), { secret: 'wrong-secret', server })
      await updateSettings(t.data, t.store, { shopify_webhook_secret: '' }, t.clock)
      const answers = [badSignature]
      for (let i = 0; i < 3; i++) answers.push(await deliver(shopifyOrder({}), { server }))
      answers.push(await deliver(shopifyOrder({}), { secret: null, server }))
      for (const res of answers) {
        // Same status, headers and body: nothing tells whether a secret is set.
        expect(res.status).toBe(401)
        expect([...res.headers].filter(([name]) => name !== 'date')).toEqual(
          [...badSignature.headers].filter(([name]) => name !== 'date'),
        )
        expect(await res.text()).toBe('{"success":false,"error":"Invalid webhook signature"}')
      }
      // The real reason is told to the operator, once, never with a secret.
      expect(warn.mock.calls).toEqual([
        [
          'Shopify webhook for store "default" refused: no webhook signing secret is set (settings page, Tracking; or settings set shopify_webhook_secret=…).',
        ],
      ])
    } finally {
      warn.mockRestore()
      await stop()
    }
    expect(await orderCount()).toBe(0)
  })

  test('a signed body that is not an order is a 400 naming the problem; other topics are ignored', async () => {
    const bad = await deliver({ id: 7, created_at: 'yesterday', total_price: '1.00' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error).toStartWith('Order: created_at: must be a time with an offset')
    const other = await deliver({ id: 1 }, { topic: 'products/update' })
    expect(await other.json()).toEqual({ success: true, result: 'ignored', order_id: null })
    expect(await orderCount()).toBe(0)
  })

  test('retries count once, a cancellation removes the order, test orders never count, sessions are linked', async () => {
    await writeSessions(
      t.data,
      t.store,
      [
        session('sess-ann', 'visitor-ann', '2026-11-20T15:00:00Z'),
        session('sess-bob', 'visitor-bob', '2026-11-20T15:30:00Z'),
      ],
      t.clock,
    )
    const ann = shopifyOrder({
      note_attributes: [{ name: '_mida_visitor', value: 'visitor-ann' }],
    })
    const bob = shopifyOrder({
      id: 5_550_002,
      name: '#1002',
      total_price: '50.00',
      created_at: '2026-11-20T10:45:00-05:00',
      updated_at: '2026-11-20T10:45:00-05:00',
      landing_site: '/products/tee?utm_source=x&mida_visitor=visitor-bob',
    })
    const testOrder = shopifyOrder({
      id: 5_550_003,
      name: '#1003',
      total_price: '1000.00',
      test: true,
    })
    expect((await deliver(ann, { id: 'w-ann' })).status).toBe(200)
    expect((await deliver(bob, { id: 'w-bob' })).status).toBe(200)
    expect((await deliver(testOrder, { id: 'w-test' })).status).toBe(200)
    expect((await stats('2026-11-20')).successful_orders).toBe(2)

    // bob cancels: orders/cancelled carries the whole order with cancelled_at
    const cancelled = {
      ...bob,
      cancelled_at: '2026-11-20T10:55:00-05:00',
      updated_at: '2026-11-20T10:55:00-05:00',
      financial_status: 'voided',
    }
    expect(
      await (await deliver(cancelled, { id: 'w-bob-cancel', topic: 'orders/cancelled' })).json(),
    ).toEqual({
      success: true,
      result: 'applied',
      order_id: '5550002',
    })
    // Shopify retries the first delivery (same webhook id): applied once, the cancellation stays
    const retry = await deliver(bob, { id: 'w-bob' })
    expect(await retry.json()).toEqual({ success: true, result: 'duplicate', order_id: '5550002' })
    // a late orders/updated older than the cancellation is recorded but not applied
    const late = await deliver(bob, { id: 'w-bob-late', topic: 'orders/updated' })
    expect(await late.json()).toEqual({ success: true, result: 'stale', order_id: '5550002' })
    expect(await orderCount()).toBe(3)
    expect(
      await t.data.all(
        'SELECT id, session_id, test, cancelled_at IS NOT NULL AS cancelled FROM orders ORDER BY id',
      ),
    ).toEqual([
      { id: '5550001', session_id: 'sess-ann', test: 0, cancelled: 0 },
      { id: '5550002', session_id: 'sess-bob', test: 0, cancelled: 1 },
      { id: '5550003', session_id: null, test: 1, cancelled: 0 },
    ])

    // Worked out by hand: 2 sessions, both reached checkout; only ann's order (199.00) counts;
    // bob's checkout has no successful order, so it is abandoned.
    expect(await stats('2026-11-20')).toMatchObject({
      total_sessions: 2,
      successful_orders: 1,
      total_revenue: 199,
      average_order_value: 199,
      conversion_rate: 0.5,
      abandoned_carts: 0,
      abandoned_checkouts: 1,
      funnel: { sessions: 2, viewed_product: 2, added_to_cart: 2, reached_checkout: 2, ordered: 1 },
    })
  })
})
