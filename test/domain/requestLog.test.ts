import { afterEach, expect, test } from 'bun:test'
import {
  recentSyncRequests,
  SYNC_LOG_RETENTION_MS,
  SyncRequestLog,
} from '../../src/domain/requestLog.ts'
import { openTestStore } from '../utils.ts'

let cleanup = () => {}
afterEach(() => cleanup())

test('entries wait in memory, then every one is written in order, many rows a statement', async () => {
  const t = await openTestStore('2026-11-26T06:00:00Z')
  cleanup = () => t.close()
  const { data, store } = t
  const callLog = new SyncRequestLog(data)
  const count = 123 // two statements of 50 rows and 23 single rows
  for (let i = 0; i < count; i++) {
    callLog.add({
      storeId: store.id,
      at: 1_000 + i,
      keyId: null,
      address: `10.0.0.${i % 7}`,
      status: i % 3 === 0 ? 401 : 200,
      durationMs: i / 4,
      error: i % 3 === 0 ? 'Invalid API key' : null,
    })
  }
  const rowCount = async () =>
    ((await data.get('SELECT count(*) AS n FROM sync_requests')) as { n: number }).n
  expect(await rowCount()).toBe(0)
  await callLog.flush()
  const rows = await data.all(
    'SELECT at, address, status, duration_ms, error FROM sync_requests ORDER BY id',
  )
  expect(rows).toEqual(
    Array.from({ length: count }, (_, i) => ({
      at: 1_000 + i,
      address: `10.0.0.${i % 7}`,
      status: i % 3 === 0 ? 401 : 200,
      duration_ms: i / 4,
      error: i % 3 === 0 ? 'Invalid API key' : null,
    })),
  )
  // Reading the log through the domain flushes first.
  callLog.add({
    storeId: store.id,
    at: 5_000,
    keyId: null,
    address: null,
    status: 403,
    durationMs: 1,
    error: 'API is deactivated',
  })
  expect((await recentSyncRequests(callLog, store, 1))[0]).toMatchObject({ at: 5_000, status: 403 })
  expect(await rowCount()).toBe(count + 1)
})

test('calls older than 90 days are pruned, at most once an hour of log time', async () => {
  const t = await openTestStore('2026-11-26T06:00:00Z')
  cleanup = () => t.close()
  const { data, store } = t
  const callLog = new SyncRequestLog(data)
  const DAY = 86_400_000
  const now = Date.parse('2026-11-26T06:00:00Z')
  const log = (at: number, status = 200) =>
    callLog.add({
      storeId: store.id,
      at,
      keyId: null,
      address: null,
      status,
      durationMs: 1,
      error: null,
    })
  const days = async () =>
    (await data.all<{ at: number }>('SELECT at FROM sync_requests ORDER BY id')).map(
      (r) => (now - r.at) / DAY,
    )
  // Calls 200, 120, 91, 89 and 10 days before now: the flush prunes 90 days back from its
  // newest call (10 days ago), so the 200- and 120-day-old calls go.
  for (const d of [200, 120, 91, 89, 10]) log(now - d * DAY)
  await callLog.flush()
  expect(SYNC_LOG_RETENTION_MS).toBe(90 * DAY)
  expect(await days()).toEqual([91, 89, 10])
  // A call now, ten days of log time later: 90 days back from now.
  log(now)
  await callLog.flush()
  expect(await days()).toEqual([89, 10, 0])
  // Within the hour, no pruning; an hour later, the next 90-day edge moves on.
  log(now + 59 * 60_000)
  await callLog.flush()
  expect(await days()).toEqual([89, 10, 0, -59 / 1440])
  log(now + 2 * DAY + 3_600_000, 401)
  await callLog.flush()
  expect(await days()).toEqual([10, 0, -59 / 1440, -2 - 1 / 24])
})

test('refused calls of an address in a row are one row, counted, until the window ends or another call', async () => {
  const t = await openTestStore('2026-11-26T06:00:00Z')
  cleanup = () => t.close()
  const { data, store } = t
  const callLog = new SyncRequestLog(data)
  const WINDOW = 15 * 60_000
  const log = (at: number, address: string, status: number) =>
    callLog.add(
      { storeId: store.id, at, keyId: null, address, status, durationMs: 0.1, error: null },
      status === 429 ? { refusedWithinMs: WINDOW } : undefined,
    )
  for (let i = 0; i < 600; i++) log(1_000 + i, '10.0.0.1', 429)
  log(2_000, '10.0.0.2', 429)
  // Nothing is written before the flush; then one row per address.
  const rows = () => data.all('SELECT at, address, status, count FROM sync_requests ORDER BY id')
  expect(await rows()).toEqual([])
  await callLog.flush()
  expect(await rows()).toEqual([
    { at: 1_000, address: '10.0.0.1', status: 429, count: 600 },
    { at: 2_000, address: '10.0.0.2', status: 429, count: 1 },
  ])
  // The row's time stays the first refusal's; up to the window's end the count grows.
  log(1_000 + WINDOW - 1, '10.0.0.1', 429)
  await callLog.flush()
  expect(await rows()).toContainEqual({ at: 1_000, address: '10.0.0.1', status: 429, count: 601 })
  // A refusal a whole window after the row's first one starts a new row.
  log(1_000 + WINDOW, '10.0.0.1', 429)
  // Another call of the address ends its run: its next refusal is a new row too.
  log(1_000 + WINDOW + 1, '10.0.0.2', 200)
  log(1_000 + WINDOW + 2, '10.0.0.2', 429)
  await callLog.flush()
  expect(await rows()).toEqual([
    { at: 1_000, address: '10.0.0.1', status: 429, count: 601 },
    { at: 2_000, address: '10.0.0.2', status: 429, count: 1 },
    { at: 1_000 + WINDOW + 1, address: '10.0.0.2', status: 200, count: 1 },
    { at: 1_000 + WINDOW, address: '10.0.0.1', status: 429, count: 1 },
    { at: 1_000 + WINDOW + 2, address: '10.0.0.2', status: 429, count: 1 },
  ])
  expect(
    (await recentSyncRequests(callLog, store, 10)).map((r) => [r.address, r.status, r.count]),
  ).toEqual([
    ['10.0.0.2', 429, 1],
    ['10.0.0.2', 200, 1],
    ['10.0.0.1', 429, 1],
    ['10.0.0.2', 429, 1],
    ['10.0.0.1', 429, 601],
  ])
})
