import { Database } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { join } from 'node:path'
import { DATABASE_FILE, isBusy } from '../../src/db/database.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { createApiKey, generateApiKey, revokeApiKey } from '../../src/domain/keys.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { etagOf } from '../../src/domain/sync.ts'
import { errorResponse } from '../../src/http/errors.ts'
import {
  createTestApp,
  describeSqliteOnly,
  listen,
  NEW_YORK_DAY_SYNC,
  onPostgres,
  type TestApp,
} from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York: the last completed day is 2026-11-25.
const NOW = '2026-11-26T06:00:00Z'

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
let key: string

beforeEach(async () => {
  t = await createTestApp({
    now: NOW,
    settings: { timezone: 'America/New_York', currency: 'USD', api_enabled: 'true' },
  })
  server = listen(t.app)
  key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
})

afterEach(async () => {
  await server.stop()
  t.close()
})

function sync(headers: Record<string, string> = {}, body?: string): Promise<Response> {
  return fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
}
const withKey = (body?: string, k = key) => sync({ 'x-mida-secret-key': k }, body)

async function expectError(res: Response, status: number, error: string): Promise<void> {
  expect({ status: res.status, body: await res.text() }).toEqual({
    status,
    body: JSON.stringify({ success: false, error }),
  })
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
}

async function seed(): Promise<void> {
  await writeSessions(
    t.data,
    t.store,
    [
      // v2 came before: returning
      { id: 'prior', visitor_id: 'v2', started_at: '2026-11-20T12:00:00-05:00' },
      {
        id: 'a',
        visitor_id: 'v1',
        started_at: '2026-11-25T08:00:00-05:00',
        ended_at: '2026-11-25T08:02:00-05:00',
        pageviews: 3,
        device: 'mobile',
        source: 'organic',
        landing_page: '/products/x',
        viewed_product: true,
        added_to_cart: true,
        reached_checkout: true,
      },
      { id: 'b', visitor_id: 'v2', started_at: '2026-11-25T09:00:00-05:00' },
      {
        id: 'c',
        visitor_id: 'v1',
        started_at: '2026-11-25T20:00:00-05:00',
        ended_at: '2026-11-25T20:01:00-05:00',
        pageviews: 2,
        device: 'tablet',
        source: 'paid',
        viewed_product: true,
        added_to_cart: true,
      },
    ].map((s) => sessionInput.parse(s)),
    t.clock,
  )
  await writeOrders(
    t.data,
    t.store,
    [
      { id: 1, created_at: '2026-11-25T08:03:00-05:00', total_price: '80.00', session_id: 'a' },
      { id: 2, created_at: '2026-11-25T21:00:00-05:00', total_price: '19.95' },
      { id: 3, created_at: '2026-11-25T21:00:00-05:00', total_price: '5', test: true },
    ].map((o) => orderInput.parse(o)),
    t.clock,
  )
}

describe('200', () => {
  test('the full success body, byte for byte, with an ETag', async () => {
    await seed()
    const res = await withKey()
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const text = await res.text()
    // Sessions a b c; visitors v1 (new) and v2 (returning); pageviews 6; bounce b → 1/3;
    // durations 120 + 0 + 60 → 60 s; orders 1 and 2 (3 is a test) → 99.95, AOV 49.975 → 49.98;
    // conversion 2/3; c added to cart without an order: 1 abandoned cart; a has order 1.
    const expected = {
      ...NEW_YORK_DAY_SYNC,
      data: {
        total_visitors: 2,
        new_visitors: 1,
        returning_visitors: 1,
        total_sessions: 3,
        total_pageviews: 6,
        bounce_rate: 0.3333,
        avg_session_duration_seconds: 60,
        successful_orders: 2,
        total_revenue: 99.95,
        average_order_value: 49.98,
        conversion_rate: 0.6667,
        abandoned_carts: 1,
        abandoned_checkouts: 0,
        funnel: {
          sessions: 3,
          viewed_product: 2,
          added_to_cart: 2,
          reached_checkout: 1,
          ordered: 2,
        },
        devices: { desktop: 1, mobile: 1, tablet: 1 },
        sources: { direct: 1, organic: 1, paid: 1, referral: 0 },
        top_landing_pages: [
          { path: '/', sessions: 2 },
          { path: '/products/x', sessions: 1 },
        ],
        daily: [
          {
            date: '2026-11-25',
            visitors: 2,
            sessions: 3,
            successful_orders: 2,
            revenue: 99.95,
          },
        ],
      },
    }
    expect(text).toBe(JSON.stringify(expected))
    expect(res.headers.get('etag')).toBe(etagOf(text))
  })

  test('a second call gets the same bytes and ETag', async () => {
    await seed()
    const first = await withKey()
    const firstText = await first.text()
    t.clock.advance({ hours: 2 })
    const second = await withKey()
    expect(await second.text()).toBe(firstText)
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'))
  })

  test('each of the three key headers is accepted', async () => {
    const variants: Record<string, string>[] = [
      { 'x-mida-secret-key': key },
      { 'mida-api-key': key },
      { authorization: `Bearer ${key}` },
      { authorization: `bearer ${key}` },
      { 'X-Mida-Secret-Key': ` ${key} ` },
    ]
    for (const headers of variants) {
      const res = await sync(headers)
      expect([JSON.stringify(headers), res.status]).toEqual([JSON.stringify(headers), 200])
      expect((await res.json()).success).toBe(true)
    }
  })

  test('no body, an empty body, {} and matching options are all fine', async () => {
    for (const body of [
      undefined,
      '',
      '  ',
      '{}',
      '{"frequency":"daily"}',
      '{"date":"2026-11-25"}',
    ]) {
      const res = await withKey(body)
      expect([body, res.status]).toEqual([body, 200])
      expect((await res.json()).period.label).toBe('2026-11-25')
    }
    const older = await withKey('{"date":"2026-11-01","frequency":"daily"}')
    expect((await older.json()).period).toEqual({
      start: '2026-11-01T00:00:00-04:00',
      end: '2026-11-02T00:00:00-05:00',
      label: '2026-11-01',
      timezone: 'America/New_York',
    })
  })

  test('weekly: the previous full week', async () => {
    await updateSettings(
      t.data,
      t.store,
      { sync_frequency: 'weekly', week_start: 'sunday' },
      t.clock,
    )
    const res = await withKey('{"frequency":"weekly"}')
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.frequency).toBe('weekly')
    expect(body.period.label).toBe('2026-11-15/2026-11-21')
    expect(body.data.daily.map((d: { date: string }) => d.date)).toEqual([
      '2026-11-15',
      '2026-11-16',
      '2026-11-17',
      '2026-11-18',
      '2026-11-19',
      '2026-11-20',
      '2026-11-21',
    ])
  })
})

describe("Bun's router and Elysia's route", () => {
  test('answer alike: same status, headers and bytes, security headers included', async () => {
    await seed()
    const calls: [Record<string, string>, string | undefined][] = [
      [{ 'x-mida-secret-key': key }, undefined],
      [{ 'x-mida-secret-key': key }, '{"date":"2026-11-24"}'],
      [{ 'x-mida-secret-key': 'mida_sk_nope' }, undefined],
      [{ 'x-mida-secret-key': key }, '{"frequency":"weekly"}'],
    ]
    const shape = async (res: Response) => {
      const headers = Object.fromEntries(res.headers)
      delete headers.date
      delete headers['content-length']
      return { status: res.status, headers, body: await res.text() }
    }
    for (const [headers, body] of calls) {
      const init = {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      }
      // Over a socket the route is Bun's own (createApp's serve.routes); app.handle goes through Elysia.
      const routed = await shape(await fetch(`${server.url}/apiv1/analytics/sync`, init))
      const handled = await shape(await t.request('/apiv1/analytics/sync', init))
      expect(handled).toEqual(routed)
      expect(routed.headers['x-content-type-options']).toBe('nosniff')
      expect(routed.headers['content-type']).toBe('application/json; charset=utf-8')
    }
  })
})

describe('key headers', () => {
  test('an empty x-mida-secret-key does not hide a valid mida-api-key', async () => {
    const res = await sync({ 'x-mida-secret-key': ' ', 'mida-api-key': key })
    expect(res.status).toBe(200)
  })
})

describe('401 Invalid API key', () => {
  test('missing key', async () => {
    await expectError(await sync(), 401, 'Invalid API key')
    await expectError(await sync({ authorization: 'Basic abc' }), 401, 'Invalid API key')
    await expectError(await sync({ 'x-mida-secret-key': '' }), 401, 'Invalid API key')
  })

  test('unknown, malformed and mistyped keys', async () => {
    await expectError(await withKey(undefined, generateApiKey()), 401, 'Invalid API key')
    await expectError(await withKey(undefined, 'hello'), 401, 'Invalid API key')
    const typo = key.slice(0, -1) + (key.at(-1) === 'a' ? 'b' : 'a')
    await expectError(await withKey(undefined, typo), 401, 'Invalid API key')
  })

  test('revoked key', async () => {
    await revokeApiKey(t.data, t.store, 'looker', t.clock)
    await expectError(await withKey(), 401, 'Invalid API key')
  })

  test('ingest-scope key', async () => {
    const ingest = (await createApiKey(t.data, t.store, 'pipe', 'ingest', t.clock)).secret
    await expectError(await withKey(undefined, ingest), 401, 'Invalid API key')
    await expectError(await sync({ authorization: `Bearer ${ingest}` }), 401, 'Invalid API key')
  })

  test('the key is checked before the API status and the body', async () => {
    await updateSettings(t.data, t.store, { api_enabled: 'false' }, t.clock)
    await expectError(await sync({}, 'not json'), 401, 'Invalid API key')
  })
})

describe('403, 400, 409', () => {
  test('403 when the API is deactivated', async () => {
    await updateSettings(t.data, t.store, { api_enabled: 'false' }, t.clock)
    await expectError(await withKey(), 403, 'API is deactivated')
    await expectError(await withKey('{"frequency":"weekly"}'), 403, 'API is deactivated')
  })

  test('400 for a body that is not JSON, not an object, or has bad fields', async () => {
    const cases: [string, string][] = [
      ['not json', 'Body is not valid JSON'],
      ['{"frequency":', 'Body is not valid JSON'],
      ['[]', 'Body must be a JSON object'],
      ['"daily"', 'Body must be a JSON object'],
      ['null', 'Body must be a JSON object'],
      ['42', 'Body must be a JSON object'],
      ['{"foo":1}', 'Unknown field: foo (allowed: frequency, date, compare)'],
      ['{"foo":1,"bar":2}', 'Unknown fields: foo, bar (allowed: frequency, date, compare)'],
      ['{"frequency":"monthly"}', 'frequency must be "daily" or "weekly"'],
      ['{"frequency":1}', 'frequency must be "daily" or "weekly"'],
      ['{"date":20261125}', 'date must be a string like "2026-11-25"'],
      ['{"date":"25/11/2026"}', 'date must be a date like 2026-11-25, got "25/11/2026"'],
      ['{"date":"2026-11-31"}', 'date is not a calendar date: 2026-11-31'],
      [
        '{"date":"2026-11-26"}',
        'date: the daily period 2026-11-26 is not complete yet (it ends 2026-11-27T00:00:00-05:00)',
      ],
      [
        '{"date":"2027-01-01"}',
        'date: the daily period 2027-01-01 is not complete yet (it ends 2027-01-02T00:00:00-05:00)',
      ],
    ]
    for (const [body, error] of cases) {
      const res = await withKey(body)
      expect([body, res.status, await res.json()]).toEqual([body, 400, { success: false, error }])
    }
  })

  test('400 for an incomplete weekly period', async () => {
    await updateSettings(t.data, t.store, { sync_frequency: 'weekly' }, t.clock)
    await expectError(
      await withKey('{"date":"2026-11-24"}'),
      400,
      'date: the weekly period 2026-11-23/2026-11-29 is not complete yet (it ends 2026-11-30T00:00:00-05:00)',
    )
  })

  test('409 when the frequency differs from the setting', async () => {
    await expectError(
      await withKey('{"frequency":"weekly"}'),
      409,
      'Frequency mismatch: requested weekly, but the data sync frequency is daily',
    )
    await updateSettings(t.data, t.store, { sync_frequency: 'weekly' }, t.clock)
    await expectError(
      await withKey('{"frequency":"daily","date":"2026-11-20"}'),
      409,
      'Frequency mismatch: requested daily, but the data sync frequency is weekly',
    )
  })
})

describe('429', () => {
  test('after 10 failed attempts in 15 minutes, with Retry-After; even a valid key waits', async () => {
    for (let i = 0; i < 10; i++) {
      await expectError(await withKey(undefined, generateApiKey()), 401, 'Invalid API key')
    }
    const refused = await withKey()
    expect(refused.headers.get('retry-after')).toBe('900')
    await expectError(refused, 429, 'Too many failed attempts, try again later')

    t.clock.advance({ minutes: 5 })
    const later = await sync()
    expect(later.headers.get('retry-after')).toBe('600')
    await expectError(later, 429, 'Too many failed attempts, try again later')

    t.clock.advance({ minutes: 10 })
    expect((await withKey()).status).toBe(200)
  })

  test('403, 400 and 409 are not failed key attempts', async () => {
    for (let i = 0; i < 12; i++) expect((await withKey('{"foo":1}')).status).toBe(400)
    expect((await withKey()).status).toBe(200)
  })
})

describe('413', () => {
  test('a body over 16 KB is refused, with or without a Content-Length', async () => {
    await expectError(
      await withKey(JSON.stringify({ date: '2026-11-20', pad: 'x'.repeat(20_000) })),
      413,
      'Body is too large: at most 16 KB',
    )
    // Chunked: the handler counts the bytes and stops at the limit.
    const chunk = new TextEncoder().encode('x'.repeat(1024))
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 40) return controller.close()
        sent++
        controller.enqueue(chunk)
      },
    })
    const res = await fetch(`${server.url}/apiv1/analytics/sync`, {
      method: 'POST',
      headers: { 'x-mida-secret-key': key },
      body,
      duplex: 'half',
    } as RequestInit)
    await expectError(res, 413, 'Body is too large: at most 16 KB')
  })
})

describe('500', () => {
  test('Sync failed when computing throws, without leaking the cause', async () => {
    const logged = spyOn(console, 'error').mockImplementation(() => {})
    try {
      await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
      const res = await withKey()
      await expectError(res, 500, 'Sync failed')
      expect(logged).toHaveBeenCalled()
      // The cause kept is the database's own message: each engine words it its own way.
      expect(await t.data.get('SELECT status, error FROM sync_records')).toEqual({
        status: 'failed',
        error: onPostgres ? 'relation "sessions" does not exist' : 'no such table: sessions',
      })
    } finally {
      logged.mockRestore()
      await t.data.run('ALTER TABLE sessions_gone RENAME TO sessions')
    }
    expect((await withKey()).status).toBe(200)
  })
  test('Sync failed too when what breaks is outside the computation (reading the settings)', async () => {
    const logged = spyOn(console, 'error').mockImplementation(() => {})
    try {
      await t.data.run('ALTER TABLE store_settings RENAME TO store_settings_gone')
      t.data.cache.invalidate()
      await expectError(await withKey(), 500, 'Sync failed')
      expect(logged).toHaveBeenCalled()
    } finally {
      logged.mockRestore()
      await t.data.run('ALTER TABLE store_settings_gone RENAME TO store_settings')
    }
    expect((await withKey()).status).toBe(200)
  })
})

describe('request log', () => {
  test('every call is logged with time, key, address, status and duration', async () => {
    const keyId = (
      await t.data.get<{ id: number }>("SELECT id FROM api_keys WHERE name = 'looker'")
    )?.id
    await withKey()
    t.clock.advance({ seconds: 1 })
    await sync()
    t.clock.advance({ seconds: 1 })
    await withKey('{"frequency":"weekly"}')
    t.clock.advance({ seconds: 1 })
    await withKey('nope')
    // The log is written in batches; reading it through the domain (as the page does) flushes.
    await t.core.callLog.flush()
    const rows = await t.data.all<Record<string, unknown>>(
      'SELECT store_id, at, key_id, address, status, duration_ms, error FROM sync_requests ORDER BY id',
    )
    const at = Date.parse(NOW)
    expect(rows.map(({ duration_ms, ...r }) => r)).toEqual([
      { store_id: t.storeId, at, key_id: keyId, address: '127.0.0.1', status: 200, error: null },
      {
        // A call without a valid key belongs to no store.
        store_id: null,
        at: at + 1000,
        key_id: null,
        address: '127.0.0.1',
        status: 401,
        error: 'Invalid API key',
      },
      {
        store_id: t.storeId,
        at: at + 2000,
        key_id: keyId,
        address: '127.0.0.1',
        status: 409,
        error: 'Frequency mismatch: requested weekly, but the data sync frequency is daily',
      },
      {
        store_id: t.storeId,
        at: at + 3000,
        key_id: keyId,
        address: '127.0.0.1',
        status: 400,
        error: 'Body is not valid JSON',
      },
    ])
    for (const r of rows) {
      expect(typeof r.duration_ms).toBe('number')
      expect(r.duration_ms as number).toBeGreaterThanOrEqual(0)
    }
    // the key's last use is recorded too
    expect(await t.data.get('SELECT last_used_at FROM api_keys WHERE id = ?', keyId ?? 0)).toEqual({
      last_used_at: at,
    })
  })
})

// PostgreSQL has no busy timeout: a writer waits for the lock it needs.
describeSqliteOnly(
  'another process holding the database past the busy timeout (SQLite only)',
  () => {
    test('the call is answered 503 with Retry-After, and logged once the database is free', async () => {
      t.db.exec('PRAGMA busy_timeout = 100') // the server waits 5 s; no need here
      const other = new Database(join(t.dir, DATABASE_FILE))
      other.exec('BEGIN IMMEDIATE')
      const res = await withKey()
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('5')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await res.json()).toEqual({
        success: false,
        error: 'The database is busy with another process writing (an import?); try again',
      })
      await t.core.callLog.flush() // busy still: the entry waits
      other.exec('ROLLBACK')
      other.close()
      expect((await withKey()).status).toBe(200)
      await t.core.callLog.flush()
      expect(
        t.db.query('SELECT status FROM sync_requests ORDER BY id').all() as { status: number }[],
      ).toEqual([{ status: 503 }, { status: 200 }])
    })

    test("SQLite's extended busy codes count too (a write on a stale snapshot)", () => {
      const other = new Database(join(t.dir, DATABASE_FILE))
      t.db.exec('BEGIN')
      t.db.query('SELECT count(*) FROM stores').get()
      other.exec("UPDATE stores SET tracking_id = tracking_id || '' WHERE id = 1")
      let caught: unknown = null
      try {
        t.db.exec("UPDATE stores SET tracking_id = tracking_id || '' WHERE id = 1")
      } catch (err) {
        caught = err
      } finally {
        t.db.exec('ROLLBACK')
        other.close()
      }
      expect((caught as { code?: string }).code).toBe('SQLITE_BUSY_SNAPSHOT')
      expect(isBusy(caught)).toBe(true)
      expect(errorResponse(caught).status).toBe(503)
    })
  },
)
