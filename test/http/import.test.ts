import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { createApiKey } from '../../src/domain/keys.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, createTestApp, type TestApp } from '../utils.ts'

/** Where the CLI finds the app's database: its directory, and on PostgreSQL runs its URL. */
const cliEnv = (t: TestApp): Record<string, string> => ({
  MIDA_DATA_DIR: t.dir,
  ...(t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}),
})

const SESSIONS = [
  '{"id":"s1","visitor_id":"v1","started_at":"2026-11-21T10:00:00-05:00","ended_at":"2026-11-21T10:05:00-05:00","pageviews":4,"device":"mobile","source":"organic","landing_page":"https://shop.example/products/tee?x=1","viewed_product":true,"added_to_cart":true}',
  '{"id":"s2","visitor_id":"v2","started_at":"2026-11-21T11:00:00-05:00","pageviews":1,"source":"paid"}',
  '{"id":"s3",',
  '{"id":"s4","started_at":"2026-11-21T12:00:00-05:00"}',
  '{"id":"s5","visitor_id":"v1","started_at":"2026-11-21T15:00:00-05:00","ended_at":"2026-11-21T15:10:00-05:00","pageviews":3,"device":"mobile","added_to_cart":true,"reached_checkout":true}',
  '',
  '{"id":"s6","visitor_id":"v3","started_at":"2026-11-21T20:00:00-05:00","ended_at":"2026-11-21T20:01:00-05:00","pageviews":2,"device":"tablet","source":"referral","landing_page":"/collections/all"}',
  '{"id":"s7","visitor_id":"v4","started_at":"2026-11-21T20:00:00-05:00","ended_at":"2026-11-21T19:00:00-05:00"}',
  '',
].join('\n')

/** Shopify's export: several rows per order, quotes, commas and line breaks inside fields. */
const ORDERS_CSV = [
  'Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Created at,Lineitem quantity,Lineitem name,Lineitem price,Notes,Note Attributes,Cancelled at,Id',
  '#2001,ann@example.com,paid,2026-11-21 15:06:00 -0500,unfulfilled,USD,110.00,5.00,5.50,120.50,,2026-11-21 15:05:00 -0500,1,"Tee, ""Classic""",60.00,,"_mida_visitor: v1',
  'gift: no",,9001',
  '#2001,ann@example.com,,,,,,,,,,,1,Mug,50.00,,,,9001',
  '#2002,bob@example.com,voided,,,USD,30.00,0.00,0.00,30.00,,2026-11-21 11:30:00 -0500,1,Cap,30.00,,,,9002',
  '#2003,"Cy ""C"" Dee, Jr.",paid,2026-11-21 23:59:59 -0500,,USD,79.50,0.00,0.00,79.50,"WELCOME,10",2026-11-21 23:59:59 -0500,1,Socks,20.00,"Leave at the door,',
  'thanks",,,9003',
  '#2003,,,,,,,,,,,,2,"Scarf ""wool""",20.00,,,,9003',
  '#2003,,,,,,,,,,,,1,Hat,19.50,,,,9003',
  '#2004,di@example.com,paid,,,USD,10.00,0.00,0.00,10.00,,2026-11-22 00:00:00 -0500,1,Pin,10.00,,,,9004',
  '#2005,ed@example.com,refunded,,,USD,40.00,0.00,0.00,40.00,,2026-11-21 09:00:00 -0500,1,Bag,40.00,,,2026-11-21 09:30:00 -0500,9005',
  '',
].join('\r\n')

const ORDERS_NDJSON = [
  '{"id":"9010","created_at":"2026-11-21T13:00:00-05:00","total_price":15,"financial_status":"paid","session_id":"s2"}',
  '{"id":"9011","created_at":"2026-11-21T13:00:00-05:00","total_price":"-3"}',
  '{"id":"9012","created_at":"2026-11-21T14:00:00-05:00","total_price":"99.99","test":true}',
].join('\n')

describe('imports over HTTP and the command line', () => {
  let t: TestApp
  let ingestKey: string
  let exportKey: string
  beforeEach(async () => {
    t = await createTestApp({
      now: '2026-11-26T06:00:00Z',
      settings: { timezone: 'America/New_York' },
    })
    ingestKey = (await createApiKey(t.data, t.store, 'loader', 'ingest', t.clock)).secret
    exportKey = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
  })
  afterEach(() => t.close())

  const cli = async (args: string[]) => {
    const io = captureIo(t.dir, '', cliEnv(t))
    const code = await runCli(args, io, t.clock)
    return { code, out: io.stdout(), err: io.stderr() }
  }
  const upload = (kind: string, body: string, key: string | null = ingestKey) =>
    t.request(`/apiv1/import/${kind}`, {
      method: 'POST',
      headers: key ? { 'x-mida-secret-key': key, 'content-type': 'application/x-ndjson' } : {},
      body,
    })

  test('only an ingest key may import', async () => {
    // A typo in the last character (never the character it already is).
    const typo = `${ingestKey.slice(0, -1)}${ingestKey.endsWith('x') ? 'y' : 'x'}`
    for (const key of [null, exportKey, typo]) {
      const res = await upload('sessions', SESSIONS, key)
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({ success: false, error: 'Invalid API key' })
    }
    const bearer = await t.request('/apiv1/import/sessions', {
      method: 'POST',
      headers: { authorization: `Bearer ${ingestKey}` },
      body: '',
    })
    expect(await bearer.json()).toEqual({
      success: true,
      kind: 'sessions',
      format: 'ndjson',
      inserted: 0,
      updated: 0,
      rejected: 0,
      errors: [],
    })
    expect((await upload('visitors', '')).status).toBe(404)
  })

  test('sessions over the CLI and HTTP, orders as CSV and NDJSON; stats equal the numbers worked out by hand', async () => {
    // sessions from a file with the CLI: bad lines reported by number, good ones kept
    const sessionsFile = join(t.dir, 'sessions.ndjson')
    await Bun.write(sessionsFile, SESSIONS)
    const first = await cli(['import', 'sessions', sessionsFile])
    expect(first.code).toBe(1)
    expect(first.out).toBe(
      [
        'Imported sessions: 4 inserted, 0 updated, 3 rejected.',
        '  line 3: not valid JSON',
        '  line 4: visitor_id: is required',
        '  line 8: ended_at: must not be before started_at',
        '',
      ].join('\n'),
    )

    // the same file over HTTP: nothing new, the same report, with its line numbers
    const again = await upload('sessions', SESSIONS)
    expect(again.status).toBe(422)
    expect(await again.json()).toEqual({
      success: false,
      error: '3 lines rejected; the other lines were imported',
      kind: 'sessions',
      format: 'ndjson',
      inserted: 0,
      updated: 4,
      rejected: 3,
      errors: [
        { line: 3, error: 'not valid JSON' },
        { line: 4, error: 'visitor_id: is required' },
        { line: 8, error: 'ended_at: must not be before started_at' },
      ],
    })

    // Shopify's CSV export over HTTP, then the same file with the CLI: idempotent
    const csv = await upload('orders', ORDERS_CSV)
    expect(csv.status).toBe(200)
    expect(await csv.json()).toEqual({
      success: true,
      kind: 'orders',
      format: 'csv',
      inserted: 5,
      updated: 0,
      rejected: 0,
      errors: [],
    })
    const csvFile = join(t.dir, 'orders_export.csv')
    await Bun.write(csvFile, ORDERS_CSV)
    const csvAgain = await cli(['import', 'orders', csvFile, '--json'])
    expect(csvAgain.code).toBe(0)
    expect(JSON.parse(csvAgain.out)).toEqual({
      kind: 'orders',
      format: 'csv',
      inserted: 0,
      updated: 5,
      rejected: 0,
      errors: [],
    })

    // NDJSON orders over HTTP with a bad line
    const nd = await upload('orders', ORDERS_NDJSON)
    expect(nd.status).toBe(422)
    expect(await nd.json()).toMatchObject({
      format: 'ndjson',
      inserted: 2,
      rejected: 1,
      errors: [
        { line: 2, error: 'total_price: must be a non-negative amount like "12.34", got "-3"' },
      ],
    })

    expect(
      await t.data.all('SELECT id, total_price_cents, session_id FROM orders ORDER BY id'),
    ).toEqual([
      { id: '9001', total_price_cents: 12050, session_id: 's5' },
      { id: '9002', total_price_cents: 3000, session_id: null },
      { id: '9003', total_price_cents: 7950, session_id: null },
      { id: '9004', total_price_cents: 1000, session_id: null },
      { id: '9005', total_price_cents: 4000, session_id: null },
      { id: '9010', total_price_cents: 1500, session_id: 's2' },
      { id: '9012', total_price_cents: 9999, session_id: null },
    ])

    // By hand, for 2026-11-21 in New York:
    // sessions s1 (4 pv, 300 s), s2 (1 pv, 0 s), s5 (3 pv, 600 s), s6 (2 pv, 60 s): 4 sessions,
    // 10 pageviews, visitors v1 v2 v3, one bounce (s2), mean duration 960 / 4 = 240 s.
    // Successful orders: 9001 (120.50), 9003 (79.50, 23:59:59 is still the 21st), 9010 (15.00);
    // not 9002 (voided), 9004 (the 22nd), 9005 (cancelled), 9012 (test). Revenue 215.00,
    // AOV 71.67, conversion 3 / 4. s1 added to cart without checkout or order: one abandoned
    // cart; s5 reached checkout and has order 9001: no abandoned checkout.
    const expected = {
      total_visitors: 3,
      new_visitors: 3,
      returning_visitors: 0,
      total_sessions: 4,
      total_pageviews: 10,
      bounce_rate: 0.25,
      avg_session_duration_seconds: 240,
      successful_orders: 3,
      total_revenue: 215,
      average_order_value: 71.67,
      conversion_rate: 0.75,
      abandoned_carts: 1,
      abandoned_checkouts: 0,
      funnel: {
        sessions: 4,
        viewed_product: 1,
        added_to_cart: 2,
        reached_checkout: 1,
        ordered: 3,
      },
      devices: { desktop: 1, mobile: 2, tablet: 1 },
      sources: { direct: 1, organic: 1, paid: 1, referral: 1 },
      top_landing_pages: [
        { path: '/', sessions: 2 },
        { path: '/collections/all', sessions: 1 },
        { path: '/products/tee', sessions: 1 },
      ],
      daily: [{ date: '2026-11-21', visitors: 3, sessions: 4, successful_orders: 3, revenue: 215 }],
    }
    const stats = await cli(['stats', '--json', '--from', '2026-11-21', '--to', '2026-11-21'])
    expect(stats.code).toBe(0)
    expect(JSON.parse(stats.out)).toEqual(expected)

    // every import once more: nothing changes
    await cli(['import', 'sessions', sessionsFile])
    await upload('orders', ORDERS_CSV)
    await upload('orders', ORDERS_NDJSON)
    const after = await cli(['stats', '--json', '--from', '2026-11-21', '--to', '2026-11-21'])
    expect(JSON.parse(after.out)).toEqual(expected)
  })

  test('an upload streams: a large body is imported without being held whole', async () => {
    const lines = Array.from(
      { length: 12_000 },
      (_, i) =>
        `{"id":"bulk-${i}","visitor_id":"v${i % 500}","started_at":${Date.UTC(2026, 10, 20, 12) + i * 1000}}`,
    )
    const res = await upload('sessions', `${lines.join('\n')}\n`)
    expect(await res.json()).toMatchObject({ success: true, inserted: 12_000, rejected: 0 })
  })
})
