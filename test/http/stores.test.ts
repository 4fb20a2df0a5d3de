import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import { nowMs } from '../../src/domain/clock.ts'
import { CollectQueue } from '../../src/domain/collect.ts'
import { addDestination } from '../../src/domain/destinations.ts'
import { Conflict } from '../../src/domain/errors.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { createApiKey, revokeApiKey } from '../../src/domain/keys.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import { claimPeriod } from '../../src/domain/scheduler.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { createStore, deleteStore, listStores, type Store } from '../../src/domain/stores.ts'
import { signShopifyBody } from '../../src/domain/webhooks.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, createTestApp, listen, onPostgres, type TestApp } from '../utils.ts'

// 06:00Z on 2026-11-26: 01:00 in New York and 15:00 in Tokyo; for both stores the last completed
// day is 2026-11-25 of their own time zone. Every session and order below falls inside BOTH
// stores' days (New York's is 05:00Z to 05:00Z, Tokyo's 15:00Z the day before to 15:00Z): a
// query that forgot its store would add the other store's figures, whichever key asks.
const NOW = '2026-11-26T06:00:00Z'
const SECRET_A = 'shpss_store_a_0123456789'
const SECRET_B = 'shpss_store_b_9876543210'
const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const ORIGIN_A = 'https://a-shop.example'
const ORIGIN_B = 'https://b-shop.example'
const TEST_ACTOR = { actor: 'test', address: null }

/** Where the CLI finds the app's database: its directory, and on PostgreSQL runs its URL. */
const cliEnv = (t: TestApp): Record<string, string> => ({
  MIDA_DATA_DIR: t.dir,
  ...(t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}),
})

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
/** The first store (`default`, New York, USD) and a second one (`tokyo`, Asia/Tokyo, EUR). */
let a: Store
let b: Store
let keyA: string
let keyB: string
/** The ids of the two `looker` keys. */
let keyIdA: number
let keyIdB: number

beforeEach(async () => {
  t = await createTestApp({
    now: NOW,
    settings: {
      timezone: 'America/New_York',
      currency: 'USD',
      api_enabled: 'true',
      shopify_webhook_secret: SECRET_A,
    },
  })
  a = t.store
  b = await createStore(
    t.data,
    { slug: 'tokyo', name: 'Tokyo shop', timezone: 'Asia/Tokyo', currency: 'EUR' },
    t.clock,
    TEST_ACTOR,
  )
  await updateSettings(
    t.data,
    b,
    { api_enabled: 'true', shopify_webhook_secret: SECRET_B },
    t.clock,
  )
  const issuedA = await createApiKey(t.data, a, 'looker', 'export', t.clock)
  const issuedB = await createApiKey(t.data, b, 'looker', 'export', t.clock)
  ;[keyA, keyIdA, keyB, keyIdB] = [issuedA.secret, issuedA.key.id, issuedB.secret, issuedB.key.id]
  server = listen(t.app)
})

afterEach(async () => {
  await server.stop()
  t.close()
})

/** Store A's day: two sessions, two visitors, one order of 80.00 (ids shared with B's). */
async function seedA(): Promise<void> {
  await writeSessions(
    t.data,
    a,
    [
      {
        id: 's1',
        visitor_id: 'v1',
        started_at: '2026-11-25T08:00:00-05:00',
        ended_at: '2026-11-25T08:02:00-05:00',
        pageviews: 3,
        device: 'mobile',
        source: 'organic',
        viewed_product: true,
        added_to_cart: true,
        reached_checkout: true,
      },
      { id: 's2', visitor_id: 'v2', started_at: '2026-11-25T09:00:00-05:00' },
      // A day only A has data for (in either time zone).
      { id: 's0', visitor_id: 'v0', started_at: '2026-11-20T12:00:00-05:00' },
    ].map((s) => sessionInput.parse(s)),
    t.clock,
  )
  await writeOrders(
    t.data,
    a,
    [
      { id: 1, created_at: '2026-11-25T08:03:00-05:00', total_price: '80.00', session_id: 's1' },
    ].map((o) => orderInput.parse(o)),
    t.clock,
  )
}

/** Store B's day (Tokyo): three sessions, three visitors, two orders of 30.50 in all. */
async function seedB(): Promise<void> {
  await writeSessions(
    t.data,
    b,
    [
      { id: 's1', visitor_id: 'v1', started_at: '2026-11-25T20:00:00+09:00' },
      {
        id: 's2',
        visitor_id: 'v3',
        started_at: '2026-11-25T21:00:00+09:00',
        ended_at: '2026-11-25T21:01:00+09:00',
        pageviews: 2,
        device: 'tablet',
        source: 'paid',
      },
      {
        id: 's3',
        visitor_id: 'v4',
        started_at: '2026-11-25T22:00:00+09:00',
        ended_at: '2026-11-25T22:05:00+09:00',
        pageviews: 5,
        source: 'referral',
        viewed_product: true,
        added_to_cart: true,
      },
    ].map((s) => sessionInput.parse(s)),
    t.clock,
  )
  await writeOrders(
    t.data,
    b,
    [
      { id: 1, created_at: '2026-11-25T20:30:00+09:00', total_price: '10.00' },
      { id: 2, created_at: '2026-11-25T23:00:00+09:00', total_price: '20.50', session_id: 's3' },
    ].map((o) => orderInput.parse(o)),
    t.clock,
  )
}

/** What store A's key must get for A's day, and nothing else. */
const A_SYNC = {
  success: true,
  frequency: 'daily',
  period: {
    start: '2026-11-25T00:00:00-05:00',
    end: '2026-11-26T00:00:00-05:00',
    label: '2026-11-25',
    timezone: 'America/New_York',
  },
  currency: 'USD',
  data: {
    total_visitors: 2,
    new_visitors: 2,
    returning_visitors: 0,
    total_sessions: 2,
    total_pageviews: 4,
    successful_orders: 1,
    total_revenue: 80,
    average_order_value: 80,
    conversion_rate: 0.5,
    devices: { desktop: 1, mobile: 1, tablet: 0 },
    sources: { direct: 1, organic: 1, paid: 0, referral: 0 },
  },
}

/** What store B's key must get for B's day (Tokyo), and nothing else. */
const B_SYNC = {
  success: true,
  frequency: 'daily',
  period: {
    start: '2026-11-25T00:00:00+09:00',
    end: '2026-11-26T00:00:00+09:00',
    label: '2026-11-25',
    timezone: 'Asia/Tokyo',
  },
  currency: 'EUR',
  data: {
    total_visitors: 3,
    new_visitors: 3,
    returning_visitors: 0,
    total_sessions: 3,
    total_pageviews: 8,
    successful_orders: 2,
    total_revenue: 30.5,
    average_order_value: 15.25,
    conversion_rate: 0.6667,
    devices: { desktop: 2, mobile: 0, tablet: 1 },
    sources: { direct: 1, organic: 0, paid: 1, referral: 1 },
  },
}

/** The part of a sync body the tests compare: who, when, and the headline figures. */
function headline(body: Record<string, unknown>) {
  const data = body.data as Record<string, unknown> | undefined
  const pick = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, data?.[k]]))
  return {
    success: body.success,
    frequency: body.frequency,
    period: body.period,
    currency: body.currency,
    data: data && pick(Object.keys(A_SYNC.data)),
  }
}

function sync(headers: Record<string, string>, body?: string): Promise<Response> {
  return fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
}
const syncWith = (key: string, body?: string) => sync({ 'x-mida-secret-key': key }, body)

/** Status and exact body of an answer. */
async function answer(res: Response): Promise<{ status: number; body: unknown }> {
  return { status: res.status, body: await res.json() }
}

const cli = async (args: string[]) => {
  const io = captureIo(t.dir, '', cliEnv(t))
  const code = await runCli(args, io, t.clock)
  return { code, out: io.stdout(), err: io.stderr() }
}

const count = async (table: string, store: Store) =>
  (
    await t.data.get<{ n: number }>(
      `SELECT count(*) AS n FROM ${table} WHERE store_id = ?`,
      store.id,
    )
  )?.n

describe('the sync API answers for the key’s store only', () => {
  test('each key gets its own store’s figures, period and time zone; never the other’s', async () => {
    await seedA()
    await seedB()
    const fromA = await syncWith(keyA)
    expect(fromA.status).toBe(200)
    expect(headline(await fromA.json())).toEqual(A_SYNC)
    const fromB = await syncWith(keyB)
    expect(fromB.status).toBe(200)
    expect(headline(await fromB.json())).toEqual(B_SYNC)
    // Each sync is recorded in its own store.
    expect([await count('sync_records', a), await count('sync_records', b)]).toEqual([1, 1])

    // Whatever B's key sends, B's figures or a refusal: a body cannot name another store.
    const variants: [Record<string, string>, string | undefined][] = [
      [{ authorization: `Bearer ${keyB}` }, undefined],
      [{ 'mida-api-key': keyB }, undefined],
      [{ 'x-mida-secret-key': keyB }, '{"frequency":"daily","date":"2026-11-25"}'],
      [{ 'x-mida-secret-key': keyB }, '{"date":"2026-11-25"}'],
    ]
    for (const [headers, body] of variants) {
      const res = await sync(headers, body)
      expect({ status: res.status, body: headline(await res.json()) }).toEqual({
        status: 200,
        body: B_SYNC,
      })
    }
    // A day only A has data for: B's key gets B's empty day, A's key A's session.
    const onlyA = '{"date":"2026-11-20"}'
    const emptyB = headline(await (await syncWith(keyB, onlyA)).json())
    expect([emptyB.period, emptyB.data]).toEqual([
      {
        start: '2026-11-20T00:00:00+09:00',
        end: '2026-11-21T00:00:00+09:00',
        label: '2026-11-20',
        timezone: 'Asia/Tokyo',
      },
      expect.objectContaining({ total_sessions: 0, total_visitors: 0, successful_orders: 0 }),
    ])
    const dayOfA = headline(await (await syncWith(keyA, onlyA)).json())
    expect(dayOfA.data).toMatchObject({ total_sessions: 1, total_visitors: 1 })
    expect(await answer(await syncWith(keyB, '{"store":"default"}'))).toEqual({
      status: 400,
      body: { success: false, error: 'Unknown field: store (allowed: frequency, date, compare)' },
    })
    expect(await answer(await syncWith(keyB, `{"store":${JSON.stringify(a.trackingId)}}`))).toEqual(
      {
        status: 400,
        body: { success: false, error: 'Unknown field: store (allowed: frequency, date, compare)' },
      },
    )
  })

  test('B’s API switched off: 403 for B’s key and nothing of A; A’s key still answers, and the other way round', async () => {
    await seedA()
    await seedB()
    await updateSettings(t.data, b, { api_enabled: 'false' }, t.clock)
    const deactivated = { success: false, error: 'API is deactivated' }
    expect(await answer(await syncWith(keyB))).toEqual({ status: 403, body: deactivated })
    expect(headline(await (await syncWith(keyA)).json())).toEqual(A_SYNC)

    await updateSettings(t.data, b, { api_enabled: 'true' }, t.clock)
    await updateSettings(t.data, a, { api_enabled: 'false' }, t.clock)
    expect(await answer(await syncWith(keyA))).toEqual({ status: 403, body: deactivated })
    expect(headline(await (await syncWith(keyB)).json())).toEqual(B_SYNC)
  })

  test('a revoked key of B, and any key of a deleted store, get 401 with no figures', async () => {
    await seedA()
    await seedB()
    const spare = (await createApiKey(t.data, b, 'spare', 'export', t.clock)).secret
    const ingest = (await createApiKey(t.data, b, 'loader', 'ingest', t.clock)).secret
    await revokeApiKey(t.data, b, 'looker', t.clock)
    const invalid = { success: false, error: 'Invalid API key' }
    expect(await answer(await syncWith(keyB))).toEqual({ status: 401, body: invalid })
    expect(headline(await (await syncWith(spare)).json())).toEqual(B_SYNC)

    await deleteStore(t.data, 'tokyo', t.clock, TEST_ACTOR)
    expect(await answer(await syncWith(spare))).toEqual({ status: 401, body: invalid })
    const upload = await fetch(`${server.url}/apiv1/import/sessions`, {
      method: 'POST',
      headers: { 'x-mida-secret-key': ingest, 'content-type': 'application/x-ndjson' },
      body: '{"id":"x1","visitor_id":"vx","started_at":"2026-11-25T10:00:00-05:00"}\n',
    })
    expect(await answer(upload)).toEqual({ status: 401, body: invalid })
    // A is untouched: its key still gets exactly its figures.
    expect(headline(await (await syncWith(keyA)).json())).toEqual(A_SYNC)
  })
})

/** A Shopify order payload, trimmed to what matters plus some of the noise Shopify sends. */
function shopifyOrder(id: number, total: string) {
  return {
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: `#${id}`,
    created_at: '2026-11-25T10:20:00-05:00',
    updated_at: '2026-11-25T10:20:05-05:00',
    cancelled_at: null,
    currency: 'USD',
    financial_status: 'paid',
    total_price: total,
    test: false,
    line_items: [],
  }
}

let delivery = 0
function deliver(path: string, order: unknown, secret: string): Promise<Response> {
  const body = JSON.stringify(order)
  return fetch(`${server.url}/apiv1/webhooks/shopify/orders${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': `delivery-${++delivery}`,
      'x-shopify-shop-domain': 'shop.myshopify.com',
      'x-shopify-hmac-sha256': signShopifyBody(body, secret),
    },
    body,
  })
}

/** Each store's orders (id, total) and webhook deliveries, side by side. */
async function ordersOfBoth() {
  const of = async (store: Store) => ({
    orders: await t.data.all(
      'SELECT id, total_price_cents FROM orders WHERE store_id = ? ORDER BY id',
      store.id,
    ),
    deliveries: await count('webhook_deliveries', store),
  })
  return { a: await of(a), b: await of(b) }
}

describe('Shopify webhooks land in the store of the path', () => {
  test('B’s path with B’s secret: B only; with A’s secret: 401, nothing written; an unknown tracking id: 404', async () => {
    const ok = await deliver(`/${b.trackingId}`, shopifyOrder(7001, '12.00'), SECRET_B)
    expect(await answer(ok)).toEqual({
      status: 200,
      body: { success: true, result: 'applied', order_id: '7001' },
    })
    expect(await ordersOfBoth()).toEqual({
      a: { orders: [], deliveries: 0 },
      b: { orders: [{ id: '7001', total_price_cents: 1200 }], deliveries: 1 },
    })

    const wrongSecret = await deliver(`/${b.trackingId}`, shopifyOrder(7002, '99.00'), SECRET_A)
    expect(await answer(wrongSecret)).toEqual({
      status: 401,
      body: { success: false, error: 'Invalid webhook signature' },
    })
    const unknown = await deliver('/MIDA-nosuchstore0', shopifyOrder(7003, '5.00'), SECRET_B)
    expect(await answer(unknown)).toEqual({
      status: 404,
      body: { success: false, error: 'No store has this tracking id' },
    })
    expect(await ordersOfBoth()).toEqual({
      a: { orders: [], deliveries: 0 },
      b: { orders: [{ id: '7001', total_price_cents: 1200 }], deliveries: 1 },
    })
  })

  test('A’s own path, and the old path without a tracking id, are the first store’s (A) only', async () => {
    expect((await deliver(`/${a.trackingId}`, shopifyOrder(8001, '1.00'), SECRET_A)).status).toBe(
      200,
    )
    expect((await deliver('', shopifyOrder(8002, '2.00'), SECRET_A)).status).toBe(200)
    // B's secret opens neither of A's doors.
    for (const path of ['', `/${a.trackingId}`]) {
      const res = await deliver(path, shopifyOrder(8003, '3.00'), SECRET_B)
      expect(await answer(res)).toEqual({
        status: 401,
        body: { success: false, error: 'Invalid webhook signature' },
      })
    }
    // The same order id in B is B's own order.
    expect((await deliver(`/${b.trackingId}`, shopifyOrder(8001, '9.00'), SECRET_B)).status).toBe(
      200,
    )
    expect(await ordersOfBoth()).toEqual({
      a: {
        orders: [
          { id: '8001', total_price_cents: 100 },
          { id: '8002', total_price_cents: 200 },
        ],
        deliveries: 2,
      },
      b: { orders: [{ id: '8001', total_price_cents: 900 }], deliveries: 1 },
    })
  })
})

describe('tracker events land in the store of their tracking id', () => {
  const event = (store: Store, visitor: string, url: string) =>
    JSON.stringify({ store: store.trackingId, visitor, event: 'pageview', url, referrer: '' })
  const post = (body: string, origin: string) =>
    fetch(`${server.url}/apiv1/collect`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': DESKTOP, origin },
    })
  const preflight = (origin: string) =>
    fetch(`${server.url}/apiv1/collect`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
  const sessionsOf = (store: Store) =>
    t.data.all(
      'SELECT visitor_id, pageviews, landing_page FROM sessions WHERE store_id = ? ORDER BY visitor_id',
      store.id,
    )

  test('A limited to its origin, B open: each event in its own store; A’s id from a foreign origin refused', async () => {
    await updateSettings(t.data, a, { allowed_origins: ORIGIN_A }, t.clock)

    // A preflight names no store: B's storefront passes because B takes any origin.
    const fromB = await preflight(ORIGIN_B)
    expect(fromB.status).toBe(204)
    expect(fromB.headers.get('access-control-allow-origin')).toBe(ORIGIN_B)

    const same = 'visitor-0001'
    expect((await post(event(b, same, `${ORIGIN_B}/b-page`), ORIGIN_B)).status).toBe(204)
    const refused = await post(event(a, same, `${ORIGIN_B}/stolen`), ORIGIN_B)
    expect(await answer(refused)).toEqual({
      status: 403,
      body: { success: false, error: 'Origin not allowed' },
    })
    expect(refused.headers.get('access-control-allow-origin')).toBeNull()
    expect((await post(event(a, same, `${ORIGIN_A}/a-page`), ORIGIN_A)).status).toBe(204)

    expect(await sessionsOf(a)).toEqual([
      { visitor_id: same, pageviews: 1, landing_page: '/a-page' },
    ])
    expect(await sessionsOf(b)).toEqual([
      { visitor_id: same, pageviews: 1, landing_page: '/b-page' },
    ])
    expect([await count('visitors', a), await count('visitors', b)]).toEqual([1, 1])

    // With both stores limited, an origin neither takes fails its preflight.
    await updateSettings(t.data, b, { allowed_origins: ORIGIN_B }, t.clock)
    expect((await preflight(ORIGIN_B)).status).toBe(204)
    expect((await preflight(ORIGIN_A)).status).toBe(204)
    expect((await preflight('https://evil.example')).status).toBe(403)
    // B's own list now refuses A's storefront for B's id.
    expect((await post(event(b, same, `${ORIGIN_A}/x`), ORIGIN_A)).status).toBe(403)
    expect(await sessionsOf(b)).toEqual([
      { visitor_id: same, pageviews: 1, landing_page: '/b-page' },
    ])
  })
})

describe('imports over HTTP go to the ingest key’s store', () => {
  test('an ingest key of B writes to B only', async () => {
    await seedA()
    const before = await t.data.all('SELECT * FROM sessions WHERE store_id = ? ORDER BY id', a.id)
    const ingestB = (await createApiKey(t.data, b, 'loader', 'ingest', t.clock)).secret
    const upload = (kind: string, body: string) =>
      fetch(`${server.url}/apiv1/import/${kind}`, {
        method: 'POST',
        headers: { 'x-mida-secret-key': ingestB, 'content-type': 'application/x-ndjson' },
        body,
      })
    const sessions = await upload(
      'sessions',
      [
        '{"id":"s1","visitor_id":"v9","started_at":"2026-11-25T20:00:00+09:00","pageviews":7}',
        '{"id":"s9","visitor_id":"v9","started_at":"2026-11-25T21:00:00+09:00"}',
      ].join('\n'),
    )
    expect(await answer(sessions)).toEqual({
      status: 200,
      body: {
        success: true,
        kind: 'sessions',
        format: 'ndjson',
        inserted: 2,
        updated: 0,
        rejected: 0,
        errors: [],
      },
    })
    const orders = await upload(
      'orders',
      '{"id":"1","created_at":"2026-11-25T20:30:00+09:00","total_price":"4.00"}\n',
    )
    expect((await orders.json()).inserted).toBe(1)
    // B has them; A's rows (with the same session and order ids) are as they were.
    expect(
      await t.data.all(
        'SELECT id, visitor_id, pageviews FROM sessions WHERE store_id = ? ORDER BY id',
        b.id,
      ),
    ).toEqual([
      { id: 's1', visitor_id: 'v9', pageviews: 7 },
      { id: 's9', visitor_id: 'v9', pageviews: 1 },
    ])
    expect(await t.data.all('SELECT * FROM sessions WHERE store_id = ? ORDER BY id', a.id)).toEqual(
      before,
    )
    expect(
      await t.data.all('SELECT id, total_price_cents FROM orders WHERE store_id = ?', a.id),
    ).toEqual([{ id: '1', total_price_cents: 8000 }])
    expect(
      await t.data.all('SELECT id, total_price_cents FROM orders WHERE store_id = ?', b.id),
    ).toEqual([{ id: '1', total_price_cents: 400 }])
  })
})

/** The tables that hold a store_id column: every one of them must lose a deleted store's rows. */
const STORE_TABLES = [
  'admin_stores',
  'api_keys',
  'audit_log',
  'data_changes',
  'destinations',
  'orders',
  'outbox',
  'sessions',
  'store_settings',
  'sync_claims',
  'sync_records',
  'sync_requests',
  'visitors',
  'webhook_deliveries',
]

/** Every table of the schema, with whether it has a store_id column, read from the database. */
async function schemaTables(): Promise<{ name: string; hasStore: boolean }[]> {
  const names = onPostgres
    ? await t.data.all<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
      )
    : await t.data.all<{ name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1`,
      )
  const tables = []
  for (const { name } of names) {
    const columns = onPostgres
      ? await t.data.all<{ name: string }>(
          `SELECT column_name AS name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = ?`,
          name,
        )
      : await t.data.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', name)
    tables.push({ name, hasStore: columns.some((c) => c.name === 'store_id') })
  }
  return tables
}

/** Rows as sorted JSON lines: two snapshots are equal when every byte of every row is. */
async function rows(sql: string, ...params: number[]): Promise<string[]> {
  return (await t.data.all<Record<string, unknown>>(sql, ...params))
    .map((r) => JSON.stringify(r))
    .sort()
}

/**
 * Every table's rows: per store for tables with store_id (A's, B's, and the server-wide ones with
 * none), whole otherwise (the stores table per store too). PostgreSQL's cache_changes counter
 * (the read caches' change signal, not data) is left out.
 */
async function snapshot(): Promise<Record<string, Record<string, string[]>>> {
  const out: Record<string, Record<string, string[]>> = {}
  for (const { name, hasStore } of await schemaTables()) {
    if (name === 'cache_changes') continue
    if (name === 'stores') {
      out[name] = {
        a: await rows('SELECT * FROM stores WHERE id = ?', a.id),
        b: await rows('SELECT * FROM stores WHERE id = ?', b.id),
      }
    } else if (hasStore) {
      out[name] = {
        a: await rows(`SELECT * FROM ${name} WHERE store_id = ?`, a.id),
        b: await rows(`SELECT * FROM ${name} WHERE store_id = ?`, b.id),
        none: await rows(`SELECT * FROM ${name} WHERE store_id IS NULL`),
      }
    } else out[name] = { all: await rows(`SELECT * FROM ${name}`) }
  }
  return out
}

/**
 * Gives a store rows in every table that has store_id, through the ways they are written: data,
 * keys (audited in the store), settings, a sync over the API (its record, call log and a queued
 * notification), a claim, a webhook delivery, and an admin limited to it.
 */
async function fill(store: Store, key: string, secret: string, admin: string): Promise<void> {
  if (store.id === a.id) await seedA()
  else await seedB()
  await createApiKey(t.data, store, 'audited', 'ingest', t.clock, {
    ...TEST_ACTOR,
    storeId: store.id,
  })
  await updateSettings(t.data, store, { notify_success: 'true' }, t.clock)
  // A destination: the sync queues a delivery to it beside the email.
  const url = `https://93.184.216.34/hooks/${store.slug}`
  await addDestination(t.data, store, { type: 'webhook', url }, t.clock, { allowPrivate: false })
  expect((await syncWith(key)).status).toBe(200)
  await t.core.callLog.flush()
  const dayBefore = store.id === a.id ? '2026-11-24T00:00:00-05:00' : '2026-11-24T00:00:00+09:00'
  expect(
    await claimPeriod(
      t.data,
      store,
      { frequency: 'daily', periodStart: Temporal.Instant.from(dayBefore).epochMilliseconds },
      'test-owner',
      nowMs(t.clock),
    ),
  ).toBe('claimed')
  expect(
    (await deliver(`/${store.trackingId}`, shopifyOrder(9000 + store.id, '1.00'), secret)).status,
  ).toBe(200)
  await createOrResetAdmin(t.data, admin, 'correct horse battery', t.clock, undefined, [store.id])
}

describe('deleting a store removes its rows and nothing else', () => {
  /** Both stores in every table, plus an admin who sees both; the snapshot before deleting B. */
  async function filled() {
    await fill(a, keyA, SECRET_A, 'a-only@example.com')
    await fill(b, keyB, SECRET_B, 'b-only@example.com')
    await createOrResetAdmin(
      t.data,
      'both@example.com',
      'correct horse battery',
      t.clock,
      undefined,
      [a.id, b.id],
    )
    const tables = await schemaTables()
    expect(tables.filter((x) => x.hasStore).map((x) => x.name)).toEqual(STORE_TABLES)
    const before = await snapshot()
    // Every table with store_id holds rows of each store, so each one's deletion is tested.
    for (const name of STORE_TABLES) {
      expect({ name, a: before[name]!.a!.length > 0, b: before[name]!.b!.length > 0 }).toEqual({
        name,
        a: true,
        b: true,
      })
    }
    return before
  }

  /** After B's deletion: B has no row anywhere, and every other row is byte for byte as before. */
  async function expectOnlyBGone(
    before: Record<string, Record<string, string[]>>,
    actor: string,
  ): Promise<void> {
    const after = await snapshot()
    const expected: Record<string, Record<string, string[]>> = structuredClone(before)
    for (const tableRows of Object.values(expected)) if (tableRows.b) tableRows.b = []
    // The one row added: the deletion's audit entry, server-wide (no store).
    const entry = await t.data.get<Record<string, unknown>>(
      "SELECT * FROM audit_log WHERE action = 'store.deleted'",
    )
    expect(entry).toMatchObject({ store_id: null, actor, detail: 'tokyo' })
    expected.audit_log!.none = [...expected.audit_log!.none!, JSON.stringify(entry)].sort()
    expect(after).toEqual(expected)
    expect((await listStores(t.data)).map((s) => s.slug)).toEqual(['default'])
  }

  test('deleteStore: every row of B in every table goes, A’s and the server’s stay byte for byte', async () => {
    const before = await filled()
    const deleted = await deleteStore(t.data, 'tokyo', t.clock, TEST_ACTOR)
    expect(deleted).toEqual(b)
    await expectOnlyBGone(before, 'test')
    // The server answers for B no more, and for A as before.
    expect((await syncWith(keyB)).status).toBe(401)
    expect((await deliver(`/${b.trackingId}`, shopifyOrder(1, '1.00'), SECRET_B)).status).toBe(404)
    const event = JSON.stringify({
      store: b.trackingId,
      visitor: 'visitor-0001',
      event: 'pageview',
      url: 'https://b-shop.example/',
    })
    const collected = await fetch(`${server.url}/apiv1/collect`, { method: 'POST', body: event })
    expect(await answer(collected)).toEqual({
      status: 404,
      body: { success: false, error: 'Unknown tracking id' },
    })
    expect((await syncWith(keyA)).status).toBe(200)

    // The last store stays: a Conflict (409), and nothing changes.
    await t.core.callLog.flush()
    const last = await snapshot()
    const refused = await deleteStore(t.data, 'default', t.clock, TEST_ACTOR).catch((e) => e)
    expect(refused).toBeInstanceOf(Conflict)
    expect(refused.status).toBe(409)
    expect(refused.message).toBe('"default" is the only store: a server keeps at least one')
    expect(await snapshot()).toEqual(last)
  })

  test('calls of the sync API logged but not yet written when their store goes: dropped; the other calls of the batch are kept', async () => {
    const errors = spyOn(console, 'error')
    try {
      await deleteStore(t.data, 'tokyo', t.clock, TEST_ACTOR)
      // What a server holds in its call log when another process (or request) deletes a store.
      const call = { at: nowMs(t.clock), address: '203.0.113.7', durationMs: 1, error: null }
      t.core.callLog.add({ ...call, storeId: a.id, keyId: keyIdA, status: 200 })
      t.core.callLog.add({ ...call, storeId: b.id, keyId: keyIdB, status: 200 })
      t.core.callLog.add({ ...call, storeId: null, keyId: null, status: 401 })
      t.core.callLog.add({ ...call, storeId: b.id, keyId: keyIdB, status: 403 })
      await t.core.callLog.flush()
      expect(
        await t.data.all('SELECT store_id, key_id, status FROM sync_requests ORDER BY id'),
      ).toEqual([
        { store_id: a.id, key_id: keyIdA, status: 200 },
        { store_id: null, key_id: null, status: 401 },
      ])
      expect(errors).not.toHaveBeenCalled()
    } finally {
      errors.mockRestore()
    }
  })

  test('tracker events queued when their store goes: dropped; the other stores’ events of the batch are written', async () => {
    // The server's queue, holding its events until flushed (it flushes at the end of a turn).
    const queue = new CollectQueue(t.data, t.core.openSessions, t.clock, {
      delayMs: 60_000,
      maxBatch: 500,
    })
    const event = (store: Store, visitorId: string) =>
      queue.add({
        storeId: store.id,
        visitorId,
        name: 'pageview',
        url: 'https://shop.example/',
        referrer: '',
        userAgent: DESKTOP,
      })
    const settled = (p: Promise<void>) =>
      p.then(
        () => 'written',
        (e: Error) => e.message,
      )
    const answers = [event(a, 'visitor-a1'), event(b, 'visitor-b1'), event(a, 'visitor-a2')].map(
      settled,
    )
    await deleteStore(t.data, 'tokyo', t.clock, TEST_ACTOR)
    await queue.flush()
    expect(await Promise.all(answers)).toEqual(['written', 'written', 'written'])
    expect(
      await t.data.all('SELECT store_id, visitor_id FROM sessions ORDER BY visitor_id'),
    ).toEqual([
      { store_id: a.id, visitor_id: 'visitor-a1' },
      { store_id: a.id, visitor_id: 'visitor-a2' },
    ])
  })

  test('a store created after a deleted one starts empty: nothing of the deleted store’s sessions carries over', async () => {
    const pageview = (store: Store, path: string) =>
      fetch(`${server.url}/apiv1/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': DESKTOP },
        body: JSON.stringify({
          store: store.trackingId,
          visitor: 'visitor-0001',
          event: 'pageview',
          url: `${ORIGIN_B}${path}`,
        }),
      })
    // The same storefront (its visitors' ids with it) leaves the server and comes back.
    expect((await pageview(b, '/old-1')).status).toBe(204)
    expect((await pageview(b, '/old-2')).status).toBe(204)
    // Deleted as a server deletes stores (the command line, beside it); added again in-process,
    // as the settings page's "Add store" does.
    expect((await cli(['stores', 'delete', 'tokyo', '--yes'])).code).toBe(0)
    const again = await createStore(t.data, { slug: 'tokyo-again' }, t.clock, TEST_ACTOR)
    expect((await pageview(again, '/new')).status).toBe(204)
    expect(
      await t.data.all(
        'SELECT store_id, visitor_id, pageviews, landing_page FROM sessions ORDER BY store_id',
      ),
    ).toEqual([
      { store_id: again.id, visitor_id: 'visitor-0001', pageviews: 1, landing_page: '/new' },
    ])
  })

  test('stores delete SLUG --yes on the command line, while the server runs; without --yes nothing goes', async () => {
    const before = await filled()
    expect(await cli(['stores', 'delete', 'tokyo'])).toEqual({
      code: 2,
      out: '',
      err: 'Error: Deleting "tokyo" removes all its sessions, orders, keys, settings and syncs for good: add --yes to go ahead\n',
    })
    expect(await snapshot()).toEqual(before)

    expect(await cli(['stores', 'delete', 'tokyo', '--yes'])).toEqual({
      code: 0,
      out: 'Deleted store "tokyo" and all its data.\n',
      err: '',
    })
    await expectOnlyBGone(before, 'cli')
    // The running server sees the deletion another process made.
    expect((await syncWith(keyB)).status).toBe(401)
    expect((await deliver(`/${b.trackingId}`, shopifyOrder(1, '1.00'), SECRET_B)).status).toBe(404)
    expect((await syncWith(keyA)).status).toBe(200)

    await t.core.callLog.flush()
    const last = await snapshot()
    expect(await cli(['stores', 'delete', 'default', '--yes'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: "default" is the only store: a server keeps at least one\n',
    })
    expect(await snapshot()).toEqual(last)
  })
})

describe('the command line’s --store', () => {
  test('with two stores a store-scoped command needs --store; an unknown slug lists them', async () => {
    expect(await cli(['keys', 'list'])).toEqual({
      code: 2,
      out: '',
      err: 'Error: This server holds 2 stores: name one with --store SLUG (default, tokyo)\n',
    })
    expect(await cli(['keys', 'list', '--store', 'nope'])).toEqual({
      code: 2,
      out: '',
      err: 'Error: No store "nope". The stores: default, tokyo\n',
    })
    const listed = await cli(['keys', 'list', '--store', 'tokyo', '--json'])
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.out).map((k: { name: string }) => k.name)).toEqual(['looker'])
  })

  test('sync --store tokyo --json prints B’s body, the one B’s key gets', async () => {
    await seedA()
    await seedB()
    const printed = await cli(['sync', '--store', 'tokyo', '--json'])
    expect(printed.code).toBe(0)
    expect(headline(JSON.parse(printed.out))).toEqual(B_SYNC)
    const served = await (await syncWith(keyB)).text()
    expect(printed.out).toBe(`${served}\n`)
    const printedA = await cli(['sync', '--store', 'default', '--json'])
    expect(headline(JSON.parse(printedA.out))).toEqual(A_SYNC)
  })

  test('with one store, --store may be left out', async () => {
    await deleteStore(t.data, 'tokyo', t.clock, TEST_ACTOR)
    const listed = await cli(['keys', 'list', '--json'])
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.out).map((k: { name: string }) => k.name)).toEqual(['looker'])
  })

  test('stores list --json; stores create refuses a bad slug, a bad time zone and a taken slug, creating nothing', async () => {
    const listed = await cli(['stores', 'list', '--json'])
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.out)).toEqual([
      {
        id: a.id,
        slug: 'default',
        name: 'My Store',
        timezone: 'America/New_York',
        currency: 'USD',
        tracking_id: a.trackingId,
        api_enabled: true,
        sync_frequency: 'daily',
      },
      {
        id: b.id,
        slug: 'tokyo',
        name: 'Tokyo shop',
        timezone: 'Asia/Tokyo',
        currency: 'EUR',
        tracking_id: b.trackingId,
        api_enabled: true,
        sync_frequency: 'daily',
      },
    ])
    const before = await snapshot()
    const badSlug = await cli(['stores', 'create', 'Bad_Slug'])
    expect(badSlug).toEqual({
      code: 1,
      out: '',
      err: 'Error: Store slug "Bad_Slug" is not valid: use 1 to 40 lowercase letters, digits and single hyphens (for example "outlet" or "acme-shoes")\n',
    })
    expect(await cli(['stores', 'create', 'paris', '--timezone', 'Mars/Olympus'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: timezone: must be an IANA time zone such as America/New_York\n',
    })
    expect(await cli(['stores', 'create', 'tokyo'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: A store with the slug "tokyo" exists already\n',
    })
    expect(await snapshot()).toEqual(before)

    const created = await cli(['stores', 'create', 'paris', '--timezone', 'Europe/Paris', '--json'])
    expect(created.code).toBe(0)
    expect(JSON.parse(created.out)).toMatchObject({ slug: 'paris', timezone: 'Europe/Paris' })
    expect((await listStores(t.data)).map((s) => s.slug)).toEqual(['default', 'tokyo', 'paris'])
  })
})
