// The first load is SQLite's path for an import into an empty store by a process alone with the
// database (PostgreSQL's imports always write batch by batch): the tests of the load itself are
// SQLite's; what any import must store (the last copy of a session wins) runs on both engines.
import { Database } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { join } from 'node:path'
import type { Data } from '../../../src/db/data.ts'
import { type Database as Connection, DATABASE_FILE, isBusy } from '../../../src/db/database.ts'
import { BulkLoad } from '../../../src/db/sqlite/bulkLoad.ts'
import type { FixedClock } from '../../../src/domain/clock.ts'
import { prng } from '../../../src/domain/demo.ts'
import { importNdjson } from '../../../src/domain/ingest/ndjsonImport.ts'
import type { RecordKind } from '../../../src/domain/ndjson.ts'
import { currentRevision } from '../../../src/domain/revisions.ts'
import type { Store } from '../../../src/domain/stores.ts'
import { onPostgres, openTestStore, sqliteOnly, type TestStore } from '../../utils.ts'
import { ms, ndjson, SESSIONS } from './fixtures.ts'

let db: Connection
let storeId: number
let data: Data
let store: Store
let clock: FixedClock
let close: () => void
let dir: string

beforeEach(async () => {
  ;({ db, data, store, clock, storeId, close, dir } = await openTestStore())
})

afterEach(() => close())

const importText = (kind: RecordKind, text: string) =>
  importNdjson(data, store, kind, new Blob([text]).stream(), clock)

describe('a first load: sessions imported into an empty table by a process alone with the database', () => {
  // Visitors with several sessions, a session sent twice (changed), hours apart, bad lines.
  const lines = [
    ...Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({
        id: `f${i}`,
        visitor_id: `v${i % 37}`,
        started_at: ms('2026-11-20T00:00:00Z') + i * 600_000,
        ended_at: ms('2026-11-20T00:00:00Z') + i * 600_000 + (i % 9) * 60_000,
        pageviews: i % 5,
        device: ['desktop', 'mobile', 'tablet'][i % 3],
        source: ['direct', 'organic', 'paid', 'referral'][i % 4],
        landing_page: `https://shop.example/products/p${i % 11}?ref=x`,
        viewed_product: i % 2 === 0,
        added_to_cart: i % 3 === 0,
        reached_checkout: i % 6 === 0,
      }),
    ),
    '{"id": "f7", "visitor_id": "v99", "started_at": "2026-11-19T08:00:00Z", "pageviews": 40}',
    // Lone surrogates (valid JSON escapes): both ids are "u\uFFFD", so the second updates.
    '{"id": "u\\ud800", "visitor_id": "vu", "started_at": "2026-11-21T00:00:00Z"}',
    '{"id": "u\\udc00", "visitor_id": "vu", "started_at": "2026-11-21T01:00:00Z"}',
    // Before 1970: its hour is -1 (rounded down), on both paths.
    '{"id": "old", "visitor_id": "v0", "started_at": "1969-12-31T23:30:00Z"}',
    '{"id": "broken"',
    '{"visitor_id": "v1", "started_at": 1}',
  ].join('\n')
  const load = (into: Pick<TestStore, 'data' | 'store'>, exclusive: boolean) =>
    importNdjson(into.data, into.store, 'sessions', new Blob([lines]).stream(), clock, {
      exclusive,
    })
  // The catalogue of indexes is each engine's own.
  const INDEXES = onPostgres
    ? 'SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname'
    : "SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name"
  const contents = async (of: Data) => ({
    sessions: await of.all('SELECT * FROM sessions ORDER BY id'),
    visitors: await of.all('SELECT * FROM visitors ORDER BY id'),
    hours: await of.all('SELECT hour FROM data_changes ORDER BY hour'),
    indexes: await of.all(INDEXES),
  })

  // On PostgreSQL both imports go batch by batch: what they store must still be this.
  test('stores exactly what the batched path stores, and counts the same', async () => {
    const other = await openTestStore()
    try {
      const indexes = await data.all(INDEXES)
      // SQLite's connection: its settings and its count of session writes.
      const pragmas = () =>
        onPostgres ? [] : [db.query('PRAGMA cache_size').get(), db.query('PRAGMA temp_store').get()]
      const settings = pragmas()
      const writes = onPostgres ? 0 : db.sessionWrites
      const first = await load({ data, store }, true)
      const batched = await load(other, false)
      expect(first).toEqual(batched)
      expect(first).toEqual({
        inserted: 302,
        updated: 2,
        rejected: 2,
        errors: [
          { line: 305, error: 'not valid JSON' },
          { line: 306, error: 'id: is required' },
        ],
      })
      expect(await contents(data)).toEqual(await contents(other.data))
      expect((await contents(data)).indexes).toEqual(indexes)
      // f7 was sent twice: the second one wins, and moves v99's first sight.
      expect(await data.get("SELECT visitor_id, pageviews FROM sessions WHERE id = 'f7'")).toEqual({
        visitor_id: 'v99',
        pageviews: 40,
      })
      expect(await data.get("SELECT first_seen_at FROM visitors WHERE id = 'v99'")).toEqual({
        first_seen_at: ms('2026-11-19T08:00:00Z'),
      })
      expect(await data.get("SELECT started_at FROM sessions WHERE id = 'u\uFFFD'")).toEqual({
        started_at: ms('2026-11-21T01:00:00Z'),
      })
      expect(await data.get('SELECT min(hour) AS hour FROM data_changes')).toEqual({ hour: -1 })
      // One revision for the whole load.
      expect(await data.get('SELECT data_revision FROM stores WHERE id = ?', storeId)).toEqual({
        data_revision: 1,
      })
      expect(await currentRevision(data, store)).toBe(1)
      if (!onPostgres) {
        // In-memory copies learn that sessions were written.
        expect(db.sessionWrites).toBe(writes + 1)
        expect(db.inTransaction).toBe(false)
        // The connection's settings, changed while the indexes are built, are as they were.
        expect(pragmas()).toEqual(settings)
        expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
      }
    } finally {
      other.close()
    }
  })

  test('when sessions are stored already, the import runs batch by batch as usual', async () => {
    await importText('sessions', ndjson(SESSIONS))
    const revision = await currentRevision(data, store)
    // (A first load here would count the three stored sessions as new too.)
    expect(await load({ data, store }, true)).toMatchObject({ inserted: 302, updated: 2 })
    // The batched path: a revision for each batch written (one here), visitors kept as it goes.
    expect(await currentRevision(data, store)).toBe(revision + 1)
    // v0 … v36, v99, vu, and 42 from SESSIONS (whose v1 and v2 are among the 37).
    expect(await data.get('SELECT count(*) AS n FROM visitors')).toEqual({ n: 40 })
  })

  sqliteOnly(
    'an input that fails half-way leaves the tables empty and every index in place (SQLite only)',
    async () => {
      const indexes = db.query(INDEXES).all()
      const encoder = new TextEncoder()
      async function* failing() {
        yield encoder.encode(`${lines}\n`)
        await Bun.sleep(50) // the first records are written inside the load's transaction
        throw new Error('the disk went away')
      }
      await expect(
        importNdjson(data, store, 'sessions', failing(), clock, { exclusive: true }),
      ).rejects.toThrow('the disk went away')
      expect(db.inTransaction).toBe(false)
      expect(await contents(data)).toEqual({ sessions: [], visitors: [], hours: [], indexes })
      expect(await currentRevision(data, store)).toBe(0)
      // And the next import works, as a first load again.
      expect(await load({ data, store }, true)).toMatchObject({
        inserted: 302,
        updated: 2,
        rejected: 2,
      })
    },
  )
  /** The lines as a stream that runs `between` after the first half has been handed over. */
  async function* halves(between: () => void) {
    const all = lines.split('\n')
    const encoder = new TextEncoder()
    yield encoder.encode(`${all.slice(0, 150).join('\n')}\n`)
    await Bun.sleep(50) // the first half is parsed and written meanwhile
    between()
    yield encoder.encode(`${all.slice(150).join('\n')}\n`)
  }
  const importing = (between: () => void) =>
    importNdjson(data, store, 'sessions', halves(between), clock, { exclusive: true })

  sqliteOnly(
    'it keeps other processes out until it ends, then lets them in (SQLite only)',
    async () => {
      const path = join(dir, DATABASE_FILE)
      let during: unknown = null
      const summary = await importing(() => {
        const other = new Database(path)
        try {
          other.query('SELECT count(*) FROM sessions').get()
        } catch (err) {
          during = err
        } finally {
          other.close()
        }
      })
      expect(summary).toMatchObject({ inserted: 302, updated: 2, rejected: 2 })
      expect(isBusy(during)).toBe(true)
      const after = new Database(path)
      after.exec('PRAGMA busy_timeout = 0')
      expect(after.query('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 302 })
      after.exec('UPDATE stores SET tracking_id = tracking_id WHERE id = 1')
      after.close()
    },
  )

  sqliteOnly(
    'while another connection has the database open (a server), it writes batch by batch and that connection works throughout (SQLite only)',
    async () => {
      const server = new Database(join(dir, DATABASE_FILE))
      server.query('SELECT count(*) FROM stores').get()
      let during: unknown = 'not run'
      const summary = await importing(() => {
        try {
          during = server.query('SELECT count(*) AS n FROM stores').get()
          server.exec('UPDATE stores SET tracking_id = tracking_id WHERE id = 1')
        } catch (err) {
          during = err
        }
      })
      server.close()
      expect(during).toEqual({ n: 1 })
      expect(summary).toMatchObject({ inserted: 302, updated: 2, rejected: 2 })
      // The batched path: the indexes were never dropped, visitors kept row by row.
      expect(db.query('SELECT count(*) AS n FROM visitors').get()).toEqual({ n: 39 })
      // The refused load left the connection's temporaries in memory.
      expect(db.query('PRAGMA temp_store').get()).toEqual({ temp_store: 2 })
    },
  )
})

describe('a first load with sessions sent more than once, in any order', () => {
  const session = (
    id: string,
    visitor_id: string,
    started: string,
    ended: string,
    more: Record<string, unknown> = {},
  ) => ({ id, visitor_id, started_at: ms(started), ended_at: ms(ended), ...more })
  // Sessions whose copies differ in every column; the last copy of each is what must be stored.
  const DUP_IN = [
    session('dup-in', 'va', '2026-11-20T10:00:00Z', '2026-11-20T10:05:00Z', {
      pageviews: 2,
      device: 'mobile',
      source: 'paid',
      landing_page: '/a',
      viewed_product: true,
    }),
    // Earlier, and another visitor's: 'va' is left with no session.
    session('dup-in', 'vb', '2026-11-19T09:00:00Z', '2026-11-19T09:01:00Z', {
      pageviews: 5,
      device: 'tablet',
      source: 'organic',
      landing_page: '/b',
      added_to_cart: true,
      reached_checkout: true,
    }),
  ]
  // The second copy lies inside the first: 'vc''s span shrinks at both ends.
  const DUP_ACROSS = [
    session('dup-across', 'vc', '2026-11-21T06:00:00Z', '2026-11-21T08:00:00Z', { pageviews: 9 }),
    session('dup-across', 'vc', '2026-11-21T06:30:00Z', '2026-11-21T07:00:00Z', { pageviews: 3 }),
  ]
  const DUP_THRICE = [
    session('dup-3', 'vd', '2026-11-18T12:00:00Z', '2026-11-18T12:10:00Z'),
    session('dup-3', 've', '2026-11-17T12:00:00Z', '2026-11-17T12:10:00Z', { device: 'mobile' }),
    session('dup-3', 'vd', '2026-11-22T23:00:00Z', '2026-11-22T23:59:00Z', {
      landing_page: 'https://shop.example/last?x=1',
    }),
  ]
  /** 150 sessions with random ids (not in primary key order) among 23 visitors. */
  const filler = (() => {
    const rand = prng(42)
    return Array.from({ length: 150 }, (_, i) => {
      const started = ms('2026-11-15T00:00:00Z') + Math.floor(rand() * 10 * 86_400_000)
      return {
        id: `k${Math.floor(rand() * 1e9).toString(36)}`,
        visitor_id: `w${i % 23}`,
        started_at: started,
        ended_at: started + Math.floor(rand() * 3_600_000),
        pageviews: Math.floor(rand() * 5),
      }
    })
  })()
  // Two parsed chunks: 124 rows (one insert of 100, then one by one), then 33.
  const CHUNKS = [
    [
      ...filler.slice(0, 40),
      DUP_IN[0],
      ...filler.slice(40, 70),
      DUP_ACROSS[0],
      DUP_THRICE[0],
      ...filler.slice(70, 110),
      DUP_IN[1],
      ...filler.slice(110, 120),
    ],
    [
      ...filler.slice(120, 135),
      DUP_THRICE[1],
      DUP_ACROSS[1],
      ...filler.slice(135, 150),
      DUP_THRICE[2],
    ],
  ]
  async function* twoChunks() {
    const encoder = new TextEncoder()
    for (const chunk of CHUNKS) yield encoder.encode(ndjson(chunk))
  }
  const COLUMNS = `id, visitor_id, started_at, ended_at, pageviews, device, source, landing_page,
    viewed_product, added_to_cart, reached_checkout`
  const stored = (of: Data, id: string) =>
    of.get(`SELECT ${COLUMNS} FROM sessions WHERE id = ?`, id)
  const visitor = (of: Data, id: string) =>
    of.get('SELECT first_seen_at, last_seen_at FROM visitors WHERE id = ?', id)
  const contents = async (of: Data) => ({
    sessions: await of.all(`SELECT ${COLUMNS} FROM sessions ORDER BY id`),
    visitors: await of.all('SELECT id, first_seen_at, last_seen_at FROM visitors ORDER BY id'),
  })

  test('the last copy wins, within a chunk and across chunks, and the counts say so', async () => {
    const begin = spyOn(BulkLoad, 'begin')
    const write = spyOn(BulkLoad.prototype, 'write')
    let summary: Awaited<ReturnType<typeof importNdjson>>
    try {
      summary = await importNdjson(data, store, 'sessions', twoChunks(), clock, {
        exclusive: true,
      })
      // SQLite loads it as a first load, in two parsed chunks; PostgreSQL, batch by batch.
      if (!onPostgres) {
        expect(begin.mock.results[0]!.value).toBeInstanceOf(BulkLoad)
        expect(write.mock.calls.map(([rows]) => rows.count).filter((n) => n > 0)).toEqual([124, 33])
      }
    } finally {
      begin.mockRestore()
      write.mockRestore()
    }
    // 157 lines, 153 sessions: 'dup-in' and 'dup-across' sent twice, 'dup-3' three times.
    expect(summary).toEqual({ inserted: 153, updated: 4, rejected: 0, errors: [] })
    expect(await data.get('SELECT count(*) AS n FROM sessions')).toEqual({ n: 153 })
    expect(await stored(data, 'dup-in')).toEqual({
      id: 'dup-in',
      visitor_id: 'vb',
      started_at: ms('2026-11-19T09:00:00Z'),
      ended_at: ms('2026-11-19T09:01:00Z'),
      pageviews: 5,
      device: 'tablet',
      source: 'organic',
      landing_page: '/b',
      viewed_product: 0,
      added_to_cart: 1,
      reached_checkout: 1,
    })
    expect(await stored(data, 'dup-across')).toMatchObject({
      started_at: ms('2026-11-21T06:30:00Z'),
      ended_at: ms('2026-11-21T07:00:00Z'),
      pageviews: 3,
    })
    expect(await stored(data, 'dup-3')).toEqual({
      id: 'dup-3',
      visitor_id: 'vd',
      started_at: ms('2026-11-22T23:00:00Z'),
      ended_at: ms('2026-11-22T23:59:00Z'),
      pageviews: 1,
      device: 'desktop',
      source: 'direct',
      landing_page: '/last',
      viewed_product: 0,
      added_to_cart: 0,
      reached_checkout: 0,
    })
    // Visitors' spans are those of the sessions stored; visitors left with none are gone.
    expect(await visitor(data, 'va')).toBeNull()
    expect(await visitor(data, 've')).toBeNull()
    expect(await visitor(data, 'vb')).toEqual({
      first_seen_at: ms('2026-11-19T09:00:00Z'),
      last_seen_at: ms('2026-11-19T09:01:00Z'),
    })
    expect(await visitor(data, 'vc')).toEqual({
      first_seen_at: ms('2026-11-21T06:30:00Z'),
      last_seen_at: ms('2026-11-21T07:00:00Z'),
    })
    expect(await visitor(data, 'vd')).toEqual({
      first_seen_at: ms('2026-11-22T23:00:00Z'),
      last_seen_at: ms('2026-11-22T23:59:00Z'),
    })
    // And exactly what the batched path stores from the same chunks.
    const other = await openTestStore()
    try {
      expect(await importNdjson(other.data, other.store, 'sessions', twoChunks(), clock)).toEqual(
        summary,
      )
      expect(await contents(data)).toEqual(await contents(other.data))
    } finally {
      other.close()
    }
  })

  sqliteOnly(
    'on a connection that has opened its temporary database already (an integrity check), it still loads (SQLite only)',
    async () => {
      // SQLite refuses to move temporaries to disk inside a transaction once that database is open.
      expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
      const begin = spyOn(BulkLoad, 'begin')
      try {
        expect(
          await importNdjson(data, store, 'sessions', twoChunks(), clock, { exclusive: true }),
        ).toEqual({ inserted: 153, updated: 4, rejected: 0, errors: [] })
        expect(begin.mock.results[0]!.value).toBeInstanceOf(BulkLoad)
      } finally {
        begin.mockRestore()
      }
      expect(db.query('PRAGMA temp_store').get()).toEqual({ temp_store: 2 })
      expect(await stored(data, 'dup-3')).toMatchObject({ visitor_id: 'vd', landing_page: '/last' })
    },
  )

  const failures = {
    'while its rows are written': () => {
      const original = BulkLoad.prototype.write
      let calls = 0
      return spyOn(BulkLoad.prototype, 'write').mockImplementation(function (this: BulkLoad, rows) {
        if (rows.count > 0 && ++calls === 2) throw new Error('the disk went away')
        original.call(this, rows)
      })
    },
    'once its rows are moved into sessions': () =>
      spyOn(BulkLoad.prototype, 'finish').mockImplementation(function (this: BulkLoad) {
        ;(this as unknown as { moveRows(): void }).moveRows()
        throw new Error('the disk went away')
      }),
  }
  sqliteOnly.each(Object.keys(failures) as (keyof typeof failures)[])(
    'a load that fails %s leaves no temporary table, temporaries in memory, sessions empty and indexed (SQLite only)',
    async (when) => {
      const INDEXES = "SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name"
      const indexes = db.query(INDEXES).all()
      const cacheSize = db.query('PRAGMA cache_size').get()
      const failing = failures[when]()
      try {
        await expect(
          importNdjson(data, store, 'sessions', twoChunks(), clock, { exclusive: true }),
        ).rejects.toThrow('the disk went away')
        expect(failing).toHaveBeenCalled()
      } finally {
        failing.mockRestore()
      }
      expect(db.inTransaction).toBe(false)
      expect(db.query('SELECT name FROM temp.sqlite_schema').all()).toEqual([])
      expect(db.query('PRAGMA temp_store').get()).toEqual({ temp_store: 2 })
      expect(db.query('PRAGMA cache_size').get()).toEqual(cacheSize)
      expect(db.query('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 })
      expect(db.query('SELECT count(*) AS n FROM visitors').get()).toEqual({ n: 0 })
      expect(db.query(INDEXES).all()).toEqual(indexes)
      expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
      // The next import is a first load again, and keeps the last copies.
      expect(
        await importNdjson(data, store, 'sessions', twoChunks(), clock, { exclusive: true }),
      ).toEqual({ inserted: 153, updated: 4, rejected: 0, errors: [] })
      expect(await stored(data, 'dup-3')).toMatchObject({ visitor_id: 'vd', landing_page: '/last' })
    },
  )
})
