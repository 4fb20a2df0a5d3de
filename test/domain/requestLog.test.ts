import { afterEach, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/database.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import {
  flushSyncRequestLog,
  logSyncRequest,
  recentSyncRequests,
} from '../../src/domain/requestLog.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { tempDir } from '../utils.ts'

let cleanup = () => {}
afterEach(() => cleanup())

test('entries wait in memory, then every one is written in order, many rows a statement', () => {
  const t = tempDir()
  cleanup = t.cleanup
  const db = openDatabase(t.dir)
  const store = ensureDefaultStore(db, new FixedClock('2026-11-26T06:00:00Z'))
  const count = 123 // two statements of 50 rows and 23 single rows
  for (let i = 0; i < count; i++) {
    logSyncRequest(db, {
      storeId: store.id,
      at: 1_000 + i,
      keyId: null,
      address: `10.0.0.${i % 7}`,
      status: i % 3 === 0 ? 401 : 200,
      durationMs: i / 4,
      error: i % 3 === 0 ? 'Invalid API key' : null,
    })
  }
  const rowCount = () =>
    (db.query('SELECT count(*) AS n FROM sync_requests').get() as { n: number }).n
  expect(rowCount()).toBe(0)
  flushSyncRequestLog(db)
  const rows = db
    .query('SELECT at, address, status, duration_ms, error FROM sync_requests ORDER BY id')
    .all()
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
  logSyncRequest(db, {
    storeId: store.id,
    at: 5_000,
    keyId: null,
    address: null,
    status: 403,
    durationMs: 1,
    error: 'API is deactivated',
  })
  expect(recentSyncRequests(db, store.id, 1)[0]).toMatchObject({ at: 5_000, status: 403 })
  expect(rowCount()).toBe(count + 1)
  db.close()
})
