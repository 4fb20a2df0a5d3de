// A key of scope `report` is read-only: the sync API and the imports refuse it as they refuse an
// unknown key (401), whichever header carries it, and nothing is written for it.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { createApiKey } from '../../src/domain/keys.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

const SESSION = '{"id":"s1","visitor_id":"v1","started_at":"2026-11-25T08:00:00-05:00"}'

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
let report: string

beforeEach(async () => {
  t = await createTestApp({
    now: '2026-11-26T06:00:00Z',
    settings: { timezone: 'America/New_York', api_enabled: 'true' },
  })
  server = listen(t.app)
  report = (await createApiKey(t.data, t.store, 'sheet', 'report', t.clock)).secret
})

afterEach(async () => {
  await server.stop()
  t.close()
})

const headerSets = (key: string): Record<string, string>[] => [
  { 'x-mida-secret-key': key },
  { 'mida-api-key': key },
  { authorization: `Bearer ${key}` },
]

test('the sync API refuses a report key with 401 and records no sync', async () => {
  for (const headers of headerSets(report)) {
    const res = await fetch(`${server.url}/apiv1/analytics/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{"frequency":"daily","date":"2026-11-25"}',
    })
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 401,
      body: { success: false, error: 'Invalid API key' },
    })
  }
  expect(await t.data.all('SELECT id FROM sync_records')).toEqual([])
  // The same request with an export key is answered: the refusal is the scope's.
  const exportKey = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
  const ok = await fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'x-mida-secret-key': exportKey },
  })
  expect(ok.status).toBe(200)
})

test('POST /apiv1/import/sessions refuses a report key with 401 and imports nothing', async () => {
  for (const headers of headerSets(report)) {
    const res = await fetch(`${server.url}/apiv1/import/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...headers },
      body: SESSION,
    })
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 401,
      body: { success: false, error: 'Invalid API key' },
    })
  }
  expect(await t.data.all('SELECT id FROM sessions')).toEqual([])
  const ingest = (await createApiKey(t.data, t.store, 'loader', 'ingest', t.clock)).secret
  const ok = await fetch(`${server.url}/apiv1/import/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'x-mida-secret-key': ingest },
    body: SESSION,
  })
  expect(ok.status).toBe(200)
  expect(await t.data.all('SELECT id FROM sessions')).toEqual([{ id: 's1' }])
})
