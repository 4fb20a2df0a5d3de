import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { parse } from 'csv-parse/sync'
import { writeSessions } from '../../src/domain/ingest/writers.ts'
import { createApiKey, generateApiKey, revokeApiKey } from '../../src/domain/keys.ts'
import { sessionInput } from '../../src/domain/records.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { createStore } from '../../src/domain/stores.ts'
import { etagOf } from '../../src/domain/sync.ts'
import { DST_WEEK, seedDstWeek } from '../reportData.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York: today is 2026-11-26, yesterday 2026-11-25.
const NOW = '2026-11-26T06:00:00Z'

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
let exportKey: string
let reportKey: string
let ingestKey: string

beforeEach(async () => {
  t = await createTestApp({
    now: NOW,
    settings: { timezone: 'America/New_York', currency: 'USD', api_enabled: 'true' },
  })
  server = listen(t.app)
  exportKey = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
  reportKey = (await createApiKey(t.data, t.store, 'sheets', 'report', t.clock)).secret
  ingestKey = (await createApiKey(t.data, t.store, 'pipe', 'ingest', t.clock)).secret
  await seedDstWeek(t.data, t.store, t.clock)
})

afterEach(async () => {
  await server.stop()
  t.close()
})

/** GET the report with a query string and headers. */
function get(query: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/apiv1/analytics/report${query}`, { headers })
}
const withKey = (query: string, key = exportKey) => get(query, { 'x-mida-secret-key': key })

function sync(body?: string, key = exportKey): Promise<Response> {
  return fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mida-secret-key': key },
    body,
  })
}

async function expectError(res: Response, status: number, error: string): Promise<void> {
  expect({ status: res.status, body: await res.text() }).toEqual({
    status,
    body: JSON.stringify({ success: false, error }),
  })
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
}

/** The `"data":{…}` text of a JSON body, as sent. */
function dataText(body: string): string {
  const parsed = JSON.parse(body) as { data: unknown }
  const text = JSON.stringify(parsed.data)
  expect(body.includes(`"data":${text}`)).toBe(true)
  return text
}

const syncRecords = async () =>
  (await t.data.get<{ n: number }>('SELECT count(*) AS n FROM sync_records'))!.n

describe("JSON: the figures are the sync API's for the same days", () => {
  test('the weekly DST week: period and data byte for byte', async () => {
    await updateSettings(t.data, t.store, { sync_frequency: 'weekly' }, t.clock)
    const synced = await (await sync('{"date":"2026-10-28"}')).text()
    const res = await withKey(`?from=${DST_WEEK.from}&to=${DST_WEEK.to}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const text = await res.text()
    const body = JSON.parse(text)
    expect(Object.keys(body)).toEqual(['success', 'period', 'currency', 'data'])
    expect(body.period).toEqual({
      start: '2026-10-26T00:00:00-04:00',
      end: '2026-11-02T00:00:00-05:00',
      label: '2026-10-26/2026-11-01',
      timezone: 'America/New_York',
    })
    expect(body.period).toEqual(JSON.parse(synced).period)
    expect(body.currency).toBe('USD')
    expect(dataText(text)).toBe(dataText(synced))
  })

  test('a daily period (the 25-hour day), and dimension rows in JSON equal to the CSV rows', async () => {
    const synced = await (await sync('{"date":"2026-11-01"}')).text()
    const text = await (await withKey('?from=2026-11-01&to=2026-11-01&dimension=day')).text()
    expect(dataText(text)).toBe(dataText(synced))
    const body = JSON.parse(text)
    expect(body.dimension).toBe('day')
    const csv = await (await withKey('?from=2026-11-01&to=2026-11-01&format=csv')).text()
    expect(parse(csv, { columns: true, cast: true })).toEqual(body.rows)
  })

  test('compare: the comparison is the sync of the comparison period', async () => {
    await updateSettings(t.data, t.store, { sync_frequency: 'weekly' }, t.clock)
    const res = await withKey(
      `?from=${DST_WEEK.from}&to=${DST_WEEK.to}&compare=previous_period&dimension=source`,
    )
    const body = JSON.parse(await res.text())
    expect(Object.keys(body)).toEqual([
      'success',
      'period',
      'currency',
      'data',
      'comparison',
      'dimension',
      'rows',
    ])
    const before = JSON.parse(await (await sync('{"date":"2026-10-20"}')).text())
    expect(body.comparison).toEqual({ period: before.period, data: before.data })
    expect(body.comparison.period.label).toBe('2026-10-19/2026-10-25')
  })
})

describe('CSV and NDJSON', () => {
  test('CSV: header, one row a day by default, CRLF, UTF-8, a file named for the store and range', async () => {
    const res = await withKey(`?format=csv&from=${DST_WEEK.from}&to=${DST_WEEK.to}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="default-2026-10-26_2026-11-01.csv"',
    )
    // A range may hold today: never cached; and the server's security headers, as on every route.
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const csv = await res.text()
    const lines = csv.split('\r\n')
    expect(lines[0]).toBe(
      'date,visitors,sessions,pageviews,bounce_rate,avg_session_duration_seconds,successful_orders,revenue,conversion_rate',
    )
    expect(lines.slice(1)).toEqual([
      '2026-10-26,1,1,1,1,0,1,10.01,1',
      '2026-10-27,1,1,4,0,300,1,50,1',
      '2026-10-28,0,0,0,0,0,1,7.5,0',
      '2026-10-29,0,0,0,0,0,0,0,0',
      '2026-10-30,1,1,2,0,120,0,0,0',
      '2026-10-31,0,0,0,0,0,0,0,0',
      '2026-11-01,2,3,6,0.3333,50,2,20.09,0.6667',
      '',
    ])
    // The JSON of the same query with dimension=day: the same rows.
    const json = await (
      await withKey(`?from=${DST_WEEK.from}&to=${DST_WEEK.to}&dimension=day`)
    ).json()
    expect(parse(csv, { columns: true, cast: true })).toEqual(json.rows)
  })

  test('NDJSON: one object a row', async () => {
    const res = await withKey(
      `?format=ndjson&dimension=device&from=${DST_WEEK.from}&to=${DST_WEEK.to}`,
    )
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
    const lines = (await res.text()).trimEnd().split('\n')
    expect(lines.map((l) => JSON.parse(l).device)).toEqual([
      'mobile',
      'desktop',
      'tablet',
      '(none)',
    ])
  })
})

describe('the range', () => {
  test('defaults to the 30 days ending yesterday', async () => {
    const body = await (await withKey('')).json()
    expect(body.period.label).toBe('2026-10-27/2026-11-25')
  })

  test('today is counted so far, and no sync record is written', async () => {
    await writeSessions(
      t.data,
      t.store,
      [
        sessionInput.parse({
          id: 'today',
          visitor_id: 'v1',
          started_at: '2026-11-26T00:30:00-05:00',
        }),
      ],
      t.clock,
    )
    const res = await withKey('?from=2026-11-26&to=2026-11-26&format=csv')
    expect((await res.text()).split('\r\n')[1]).toBe('2026-11-26,1,1,1,1,0,0,0,0')
    t.clock.advance({ minutes: 30 })
    await writeSessions(
      t.data,
      t.store,
      [
        sessionInput.parse({
          id: 'later',
          visitor_id: 'v2',
          started_at: '2026-11-26T01:10:00-05:00',
        }),
      ],
      t.clock,
    )
    const later = await (await withKey('?from=2026-11-26&to=2026-11-26')).json()
    expect(later.data.total_sessions).toBe(2)
    expect(await syncRecords()).toBe(0)
  })

  test('400 days are fine, 401 are not', async () => {
    expect((await withKey('?from=2025-10-22&to=2026-11-25')).status).toBe(200)
    await expectError(
      await withKey('?from=2025-10-21&to=2026-11-25'),
      400,
      'The range 2025-10-21 to 2026-11-25 is 401 days: a report covers at most 400',
    )
  })
})

describe('keys: headers take export and report keys, ?token= report keys only', () => {
  test('export and report keys in each header; a report key as token', async () => {
    const variants: Record<string, string>[] = [
      { 'x-mida-secret-key': exportKey },
      { 'mida-api-key': reportKey },
      { authorization: `Bearer ${reportKey}` },
    ]
    for (const headers of variants) {
      expect((await get('?from=2026-11-01&to=2026-11-01', headers)).status).toBe(200)
    }
    const res = await get(`?from=2026-11-01&to=2026-11-01&format=csv&token=${reportKey}`)
    expect(res.status).toBe(200)
    expect((await res.text()).split('\r\n')[1]).toBe('2026-11-01,2,3,6,0.3333,50,2,20.09,0.6667')
  })

  test('401: an export key in the URL, an ingest key, a revoked, unknown or missing key', async () => {
    await expectError(await get(`?token=${exportKey}`), 401, 'Invalid API key')
    // A token is the key checked: a valid header does not rescue an export key in the URL.
    await expectError(
      await get(`?token=${exportKey}`, { 'x-mida-secret-key': exportKey }),
      401,
      'Invalid API key',
    )
    await expectError(await get(`?token=${ingestKey}`), 401, 'Invalid API key')
    await expectError(await withKey('', ingestKey), 401, 'Invalid API key')
    await expectError(await get('?token='), 401, 'Invalid API key')
    await expectError(await get(''), 401, 'Invalid API key')
    await expectError(await withKey('', generateApiKey()), 401, 'Invalid API key')
    await revokeApiKey(t.data, t.store, 'sheets', t.clock)
    await expectError(await get(`?token=${reportKey}`), 401, 'Invalid API key')
  })

  test('a report key is refused by the sync API and by imports', async () => {
    await expectError(await sync(undefined, reportKey), 401, 'Invalid API key')
    for (const kind of ['sessions', 'orders']) {
      const res = await fetch(`${server.url}/apiv1/import/${kind}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${reportKey}` },
        body: '',
      })
      await expectError(res, 401, 'Invalid API key')
    }
  })

  test("the report answers for the key's store", async () => {
    const other = await createStore(
      t.data,
      { slug: 'second', name: 'Second', timezone: 'America/New_York', currency: 'EUR' },
      t.clock,
      { actor: 'test', address: null },
    )
    await updateSettings(t.data, other, { api_enabled: 'true' }, t.clock)
    const otherKey = (await createApiKey(t.data, other, 'sheets', 'report', t.clock)).secret
    const res = await get(`?from=${DST_WEEK.from}&to=${DST_WEEK.to}&format=csv&token=${otherKey}`)
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="second-2026-10-26_2026-11-01.csv"',
    )
    const body = await (
      await get(`?from=${DST_WEEK.from}&to=${DST_WEEK.to}&token=${otherKey}`)
    ).json()
    expect([body.currency, body.data.total_sessions]).toEqual(['EUR', 0])
  })
})

describe("errors keep the sync API's statuses and shape", () => {
  test('400 names the bad parameter', async () => {
    const cases: [string, string][] = [
      ['?foo=1', 'Unknown parameter: foo (allowed: from, to, format, compare, dimension, token)'],
      [
        '?foo=1&bar=2',
        'Unknown parameters: foo, bar (allowed: from, to, format, compare, dimension, token)',
      ],
      ['?from=2026-11-01&from=2026-11-02', 'from is given more than once'],
      ['?from=1/11/2026', 'from must be a date like 2026-11-01'],
      ['?to=2026-11-31', 'to is not a calendar date: 2026-11-31'],
      ['?format=xlsx', 'format must be "json", "csv" or "ndjson"'],
      ['?compare=last_year', 'compare must be "previous_period" or "previous_year"'],
      ['?dimension=country', 'dimension must be "day", "device", "source" or "landing_page"'],
      ['?from=2026-11-02&to=2026-11-01', 'from (2026-11-02) is after to (2026-11-01)'],
      ['?to=2026-11-27', 'to (2026-11-27) is after today (2026-11-26 in America/New_York)'],
    ]
    for (const [query, error] of cases) {
      const res = await withKey(query)
      expect([query, res.status, await res.json()]).toEqual([query, 400, { success: false, error }])
    }
  })

  test('403 when the API is deactivated (the key is checked first)', async () => {
    await updateSettings(t.data, t.store, { api_enabled: 'false' }, t.clock)
    await expectError(await get(`?token=${reportKey}`), 403, 'API is deactivated')
    await expectError(await get('?foo=1'), 401, 'Invalid API key')
  })

  test('429 after 10 failed key attempts, with Retry-After', async () => {
    for (let i = 0; i < 10; i++) {
      await expectError(await get(`?token=${generateApiKey()}`), 401, 'Invalid API key')
    }
    const refused = await get(`?token=${reportKey}`)
    expect(refused.headers.get('retry-after')).toBe('900')
    await expectError(refused, 429, 'Too many failed attempts, try again later')
  })

  test('500 Report failed when computing throws, without leaking the cause', async () => {
    const logged = spyOn(console, 'error').mockImplementation(() => {})
    try {
      await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
      await expectError(await withKey(''), 500, 'Report failed')
      expect(logged).toHaveBeenCalled()
    } finally {
      logged.mockRestore()
      await t.data.run('ALTER TABLE sessions_gone RENAME TO sessions')
    }
    expect((await withKey('')).status).toBe(200)
  })
})

describe('the call log', () => {
  test('each call is logged with its key, status and error, like the sync', async () => {
    const keyId = (
      await t.data.get<{ id: number }>("SELECT id FROM api_keys WHERE name = 'sheets'")
    )?.id
    await get(`?token=${reportKey}`)
    t.clock.advance({ seconds: 1 })
    await get(`?token=${reportKey}&format=pdf`)
    t.clock.advance({ seconds: 1 })
    await get(`?token=${exportKey}`)
    await t.core.callLog.flush()
    const rows = await t.data.all<Record<string, unknown>>(
      'SELECT store_id, at, key_id, status, error FROM sync_requests ORDER BY id',
    )
    const at = Date.parse(NOW)
    expect(rows).toEqual([
      { store_id: t.storeId, at, key_id: keyId, status: 200, error: null },
      {
        store_id: t.storeId,
        at: at + 1000,
        key_id: keyId,
        status: 400,
        error: 'format must be "json", "csv" or "ndjson"',
      },
      { store_id: null, at: at + 2000, key_id: null, status: 401, error: 'Invalid API key' },
    ])
  })
})

describe('compare on the sync API', () => {
  test('without compare the body is unchanged; with it, the same bytes and a comparison appended', async () => {
    const plain = await (await sync()).text()
    const res = await sync('{"compare":"previous_period"}')
    expect(res.status).toBe(200)
    const compared = await res.text()
    expect(compared.startsWith(plain.slice(0, -1))).toBe(true)
    const before = await (await sync('{"date":"2026-11-24"}')).text()
    const parsed = JSON.parse(before)
    expect(compared).toBe(
      `${plain.slice(0, -1)},"comparison":${JSON.stringify({ period: parsed.period, data: parsed.data })}}`,
    )
    expect(JSON.parse(compared).comparison.period.label).toBe('2026-11-24')
    // The body without compare is still the stored one, byte for byte.
    expect(await (await sync()).text()).toBe(plain)
    expect(await (await sync('{"compare":"previous_period"}')).text()).toBe(compared)
  })

  test("the ETag is the answered body's", async () => {
    const res = await sync('{"compare":"previous_year"}')
    const text = await res.text()
    expect(res.headers.get('etag')).toBe(etagOf(text))
    expect(res.headers.get('etag')).not.toBe((await sync()).headers.get('etag'))
  })

  test('weekly, previous_year: the same weekdays 364 days earlier, the DST week of 2025', async () => {
    await updateSettings(t.data, t.store, { sync_frequency: 'weekly' }, t.clock)
    const body = await (await sync('{"date":"2026-10-28","compare":"previous_year"}')).json()
    expect(body.period.label).toBe('2026-10-26/2026-11-01')
    expect(body.comparison.period).toEqual({
      start: '2025-10-27T00:00:00-04:00',
      end: '2025-11-03T00:00:00-05:00',
      label: '2025-10-27/2025-11-02',
      timezone: 'America/New_York',
    })
    expect(body.comparison.data.total_sessions).toBe(1)
  })

  test('the comparison is a backfill: it queues no email', async () => {
    await updateSettings(
      t.data,
      t.store,
      { notify_success: 'true', store_email: 'owner@shop.example' },
      t.clock,
    )
    expect((await sync('{"compare":"previous_period"}')).status).toBe(200)
    const rows = await t.data.all<{ period_label: string }>('SELECT period_label FROM outbox')
    expect(rows).toEqual([{ period_label: '2026-11-25' }])
  })

  test('400 for a bad compare value', async () => {
    await expectError(
      await sync('{"compare":"last_week"}'),
      400,
      'compare must be "previous_period" or "previous_year"',
    )
  })
})
