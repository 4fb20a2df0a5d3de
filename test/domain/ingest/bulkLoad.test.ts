// The bulk load into a store that holds sessions already: when the CLI's file outnumbers the
// stored sessions enough, it is loaded as a first load is (one transaction, indexes rebuilt), and
// stores exactly what the batched path stores. The bulk load is SQLite's (PostgreSQL's imports
// always write batch by batch): the tests of it are SQLite's, the others run on both engines.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { BulkLoad } from '../../../src/db/sqlite/bulkLoad.ts'
import { insertStore, storeById } from '../../../src/db/stores.ts'
import { importNdjson } from '../../../src/domain/ingest/ndjsonImport.ts'
import { writeSessions } from '../../../src/domain/ingest/writers.ts'
import type { SessionRecord } from '../../../src/domain/records.ts'
import { currentRevision } from '../../../src/domain/revisions.ts'
import type { Store } from '../../../src/domain/stores.ts'
import { onPostgres, openTestStore, sqliteOnly, type TestStore } from '../../utils.ts'
import { ms } from './fixtures.ts'

const HOUR = 3_600_000

/** Sessions stored before the import: two hours apart, one of them moved by the file below. */
const STORED: SessionRecord[] = [
  {
    id: 'kept',
    visitor_id: 'old-visitor',
    started_at: ms('2026-11-10T05:10:00Z'),
    ended_at: ms('2026-11-10T05:20:00Z'),
    pageviews: 3,
    device: 'tablet',
    source: 'paid',
    landing_page: '/a',
    viewed_product: true,
    added_to_cart: false,
    reached_checkout: false,
  },
  {
    id: 'moved',
    visitor_id: 'mover',
    started_at: ms('2026-11-11T07:00:00Z'),
    ended_at: ms('2026-11-11T07:01:00Z'),
    pageviews: 1,
    device: 'desktop',
    source: 'direct',
    landing_page: '/',
    viewed_product: false,
    added_to_cart: false,
    reached_checkout: false,
  },
]

/** The file: 40 new sessions out of time order, `moved` sent to another day and visitor. */
const LINES = [
  ...Array.from({ length: 40 }, (_, i) => {
    const k = (i * 17) % 40
    return JSON.stringify({
      id: `n${k}`,
      visitor_id: `v${k % 7}`,
      started_at: new Date(ms('2026-11-12T00:00:00Z') + k * 5_400_000).toISOString(),
      pageviews: 1 + (k % 4),
    })
  }),
  JSON.stringify({ id: 'moved', visitor_id: 'v3', started_at: '2026-11-13T02:30:00Z' }),
].join('\n')

let a: TestStore
let b: TestStore

beforeEach(async () => {
  a = await openTestStore()
  b = await openTestStore()
  for (const t of [a, b]) await writeSessions(t.data, t.store, STORED, t.clock)
})

afterEach(() => {
  a.close()
  b.close()
})

const load = (t: TestStore, options: { exclusive: boolean; expectedBytes?: number }) =>
  importNdjson(t.data, t.store, 'sessions', new Blob([LINES]).stream(), t.clock, options)

const rows = async (t: TestStore) => ({
  sessions: await t.data.all('SELECT * FROM sessions ORDER BY id'),
  visitors: await t.data.all('SELECT * FROM visitors ORDER BY store_id, id'),
  // The catalogue is each engine's own.
  indexes: await t.data.all(
    onPostgres
      ? 'SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname'
      : "SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name",
  ),
})

const changedHours = async (t: TestStore) =>
  (await t.data.all<{ hour: number }>('SELECT hour FROM data_changes ORDER BY hour')).map(
    (r) => r.hour,
  )

sqliteOnly(
  'a file outnumbering the stored sessions loads in bulk and stores what the batched path stores (SQLite only)',
  async () => {
    const hoursBefore = await changedHours(a)
    const revision = await currentRevision(a.data, a.store)
    const bulk = await load(a, { exclusive: true, expectedBytes: LINES.length })
    const batched = await load(b, { exclusive: false })
    expect(bulk).toEqual({ inserted: 40, updated: 1, rejected: 0, errors: [] })
    expect(bulk).toEqual(batched)
    expect(await rows(a)).toEqual(await rows(b))
    // The moved session's visitor is gone with it; its new visitor starts earlier now.
    expect(await a.data.get("SELECT * FROM visitors WHERE id = 'mover'")).toBeNull()
    expect(await a.data.get("SELECT first_seen_at FROM visitors WHERE id = 'v3'")).toEqual({
      first_seen_at: ms('2026-11-12T00:00:00Z') + 3 * 5_400_000,
    })
    // The bulk load marks every hour that held or holds a session (one new revision), so the
    // untouched `kept` session's hour is marked too; the batched path marks the rows it wrote.
    const keptHour = Math.floor(STORED[0]!.started_at / HOUR)
    const movedFrom = Math.floor(STORED[1]!.started_at / HOUR)
    expect(hoursBefore).toContain(keptHour)
    expect(await currentRevision(a.data, a.store)).toBe(revision + 1)
    const marked = (t: TestStore) =>
      t.data.all<{ hour: number }>(
        'SELECT hour FROM data_changes WHERE revision = ? ORDER BY hour',
        revision + 1,
      )
    expect(await marked(a)).toContainEqual({ hour: keptHour })
    expect(await marked(a)).toContainEqual({ hour: movedFrom })
    expect(await marked(b)).not.toContainEqual({ hour: keptHour })
    expect(await marked(b)).toContainEqual({ hour: movedFrom })
    for (const { hour } of await marked(b)) {
      expect(await marked(a)).toContainEqual({ hour })
    }
    expect(a.db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    expect(a.db.query('PRAGMA threads').get()).toEqual({ threads: 0 })
  },
)

test('a small file next to the store, or an input of unknown size, goes batch by batch', async () => {
  const revision = await currentRevision(a.data, a.store)
  const keptHour = Math.floor(STORED[0]!.started_at / HOUR)
  // Estimated at 200 bytes a line: 200 bytes is one session, a fifth of the two stored is 0.4.
  expect(await load(a, { exclusive: true, expectedBytes: 79 })).toMatchObject({ inserted: 40 })
  expect(await load(b, { exclusive: true })).toMatchObject({ inserted: 40 })
  for (const t of [a, b]) {
    expect(
      await t.data.all('SELECT hour FROM data_changes WHERE revision = ?', revision + 1),
    ).not.toContainEqual({ hour: keptHour })
  }
  expect(await rows(a)).toEqual(await rows(b))
})

sqliteOnly(
  'BulkLoad.begin: an empty table always, a stored one only for an input of a fifth its rows (SQLite only)',
  () => {
    const begin = (t: TestStore, bytes: number | null) => {
      const load = BulkLoad.begin(t.db, t.store.id, 0, bytes)
      load?.abort()
      return load !== null
    }
    // Two sessions stored: 0.4 lines of 200 bytes are enough, 0.395 are not.
    expect(begin(a, null)).toBe(false)
    expect(begin(a, 79)).toBe(false)
    expect(begin(a, 80)).toBe(true)
    a.db.exec('DELETE FROM sessions')
    expect(begin(a, null)).toBe(true)
    expect(begin(a, 0)).toBe(true)
  },
)

test("another store's sessions and visitors are left as they were", async () => {
  const secondId = (await insertStore(a.data, 'second', 'second-store', 0)) as number
  expect(secondId).toBe(2)
  const second = (await storeById(a.data, secondId)) as Store
  await writeSessions(a.data, second, [{ ...STORED[0]!, id: 'theirs' }], a.clock)
  const theirs = async () => ({
    sessions: await a.data.all('SELECT * FROM sessions WHERE store_id = 2'),
    visitors: await a.data.all('SELECT * FROM visitors WHERE store_id = 2'),
  })
  const before = await theirs()
  expect(before.visitors).toHaveLength(1)
  expect(await load(a, { exclusive: true, expectedBytes: LINES.length })).toMatchObject({
    inserted: 40,
    updated: 1,
  })
  expect(await theirs()).toEqual(before)
  expect(
    await a.data.get('SELECT count(*) AS n FROM sessions WHERE store_id = ?', a.store.id),
  ).toEqual({ n: 42 })
})
