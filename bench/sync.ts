// Cold sync (nothing stored yet) over stores of 1 M and 10 M sessions, daily and weekly, on each
// data set of bench/datasets.ts: the first benchmarks' own (written in time order by the batch
// writer) and the realistic one imported from its file, sorted and shuffled.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { type Data, SqliteData } from '../src/db/data.ts'
import { openDatabase } from '../src/db/database.ts'
import { FixedClock } from '../src/domain/clock.ts'
import { writeOrders, writeSessions } from '../src/domain/ingest/writers.ts'
import type { OrderRecord, SessionRecord } from '../src/domain/records.ts'
import { updateSettings } from '../src/domain/settings.ts'
import { ensureDefaultStore, type Store } from '../src/domain/stores.ts'
import { syncPeriod } from '../src/domain/sync.ts'
import {
  type Dataset,
  prng,
  realisticSessionAt,
  sessionAt,
  writeRealisticSessionsNdjson,
} from './datasets.ts'
import { END_MS, exists, OUT, report } from './lib.ts'

const PER_DAY = 26_000
const clock = new FixedClock(new Date(END_MS + 6 * 3_600_000).toISOString())

/** A successful order for ~60 % of the sessions that reached checkout, created as they end. */
export function orderOf(s: SessionRecord, n: number, rand: () => number): OrderRecord | null {
  if (!s.reached_checkout || rand() >= 0.6) return null
  return {
    id: `o${n}`,
    created_at: s.ended_at,
    total_price: 1000 + Math.floor(rand() * 15000),
    financial_status: 'paid',
    cancelled_at: null,
    test: false,
    session_id: s.id,
    name: null,
    currency: null,
  }
}

/** The realistic file of `total` sessions, imported by the CLI as a merchant's file would be. */
export async function realisticFile(total: number, shuffled: boolean): Promise<string> {
  const file = join(OUT, `realistic-${shuffled ? 'shuffled' : 'sorted'}-${total}.ndjson`)
  if (!exists(file)) {
    console.log(`generating ${file} …`)
    await writeRealisticSessionsNdjson(file, total, PER_DAY, END_MS, shuffled)
  }
  return file
}

async function importRealistic(dir: string, total: number, shuffled: boolean) {
  const file = await realisticFile(total, shuffled)
  const child = Bun.spawnSync(
    [process.execPath, 'src/main.ts', 'import', 'sessions', file, '--data-dir', dir, '--json'],
    { cwd: join(import.meta.dir, '..'), stderr: 'inherit' },
  )
  // The file's few bad lines make the import exit 1 after writing every good one.
  const summary = JSON.parse(child.stdout.toString() || '{}')
  if (summary.inserted !== total) throw new Error(`importing ${file} failed (${child.exitCode})`)
}

/** The realistic store's orders, as for the bench one: for ~60 % of sessions reaching checkout. */
async function writeRealisticOrders(data: SqliteData, store: Store, total: number) {
  const rand = prng(7)
  let orders: OrderRecord[] = []
  for (let k = 0; k < total; k++) {
    const line = realisticSessionAt(k, PER_DAY, END_MS, total, false)
    if (!('reached_checkout' in line) || !line.reached_checkout) continue
    const session = { id: line.id, reached_checkout: true, ended_at: Date.parse(line.ended_at) }
    const order = orderOf(session as SessionRecord, k, rand)
    if (order) orders.push(order)
    if (orders.length >= 50_000) {
      await writeOrders(data, store, orders, clock)
      orders = []
    }
  }
  await writeOrders(data, store, orders, clock)
}

/**
 * Opens (building once, then reusing) a data dir holding `total` sessions of a data set and
 * ~2.5 % orders.
 */
export async function benchStore(total: number, order: Dataset = 'bench') {
  const dir = join(OUT, order === 'bench' ? `store-${total}` : `store-${order}-${total}`)
  if (!exists(join(dir, 'complete'))) rmSync(dir, { recursive: true, force: true })
  const fresh = !exists(join(dir, 'complete'))
  let db = openDatabase(dir, { secretKey: undefined })
  let data = new SqliteData(db)
  const store = await ensureDefaultStore(data, clock)
  if (fresh) {
    console.log(`building a store of ${total} sessions (${order}) in ${dir} …`)
    await updateSettings(data, store, { timezone: 'UTC', api_enabled: true }, clock)
    if (order !== 'bench') {
      // The import's first load needs the file to itself: this connection is closed meanwhile.
      db.close()
      await importRealistic(dir, total, order === 'shuffled')
      db = openDatabase(dir, { secretKey: undefined })
      data = new SqliteData(db)
      await writeRealisticOrders(data, store, total)
    }
    const rand = prng(7)
    const batch = 50_000
    for (let from = 0; order === 'bench' && from < total; from += batch) {
      const sessions: SessionRecord[] = []
      const orders: OrderRecord[] = []
      for (let i = from; i < Math.min(total, from + batch); i++) {
        const s = sessionAt(i, PER_DAY, END_MS, total, rand) as SessionRecord
        sessions.push(s)
        const o = orderOf(s, i, rand)
        if (o) orders.push(o)
      }
      await writeSessions(data, store, sessions, clock)
      await writeOrders(data, store, orders, clock)
    }
    db.exec('ANALYZE')
    // At rest before anything is timed: the WAL folded in, the gigabytes just written on disk,
    // the building connection closed and its garbage collected. Timed on the connection that
    // had just built the 10 M store, its cold daily sync took 75-77 ms (1.6x the 1 M figure)
    // in two runs, and ~50 ms (1.03x) on a fresh one.
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    db.close()
    Bun.spawnSync(['sync'])
    Bun.write(join(dir, 'complete'), 'built\n')
    Bun.gc(true)
    return { db: openDatabase(dir, { secretKey: undefined }), store }
  }
  return { db, store }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** Median cold-sync time of a frequency over `runs` runs. */
async function coldSync(
  total: number,
  order: Dataset,
  frequency: 'daily' | 'weekly',
  runs = 5,
): Promise<number> {
  const { db, store } = await benchStore(total, order)
  const data = new SqliteData(db)
  const time = await medianColdSync(data, store, frequency, runs)
  db.close()
  return time
}

/** The median time of `runs` cold syncs of a frequency (stored records dropped before each). */
export async function medianColdSync(
  data: Data,
  store: Store,
  frequency: 'daily' | 'weekly',
  runs = 5,
): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    await data.run('DELETE FROM sync_records')
    data.cache.invalidate()
    const t = performance.now()
    const r = await syncPeriod(
      data,
      store,
      { frequency, trigger: 'cli', strictFrequency: false },
      clock,
    )
    times.push(performance.now() - t)
    if (!r.computed) throw new Error('expected a cold sync')
  }
  return median(times)
}

/**
 * Times both frequencies over a store in a process of its own, which never built a store: the
 * process that had just built the 10 M store timed its cold syncs 1.5-1.6x slower than a fresh
 * one on the same files (74 / 595 ms against 55 / 485 ms, same clone, minutes apart).
 */
function timeInChild(total: number, order: Dataset): Record<'daily' | 'weekly', number> {
  const child = Bun.spawnSync(
    [process.execPath, import.meta.path, '--time', String(total), order],
    { stderr: 'inherit', env: process.env },
  )
  if (child.exitCode !== 0) throw new Error(`timing ${total} sessions (${order}) failed`)
  return JSON.parse(child.stdout.toString())
}

if (import.meta.main && process.argv[2] === '--time') {
  const total = Number(process.argv[3])
  const order = process.argv[4] as Dataset
  console.log(
    JSON.stringify({
      daily: await coldSync(total, order, 'daily'),
      weekly: await coldSync(total, order, 'weekly'),
    }),
  )
} else if (import.meta.main) {
  const sizes = (process.env.BENCH_SIZES ?? '1000000,10000000').split(',').map(Number)
  const orders: Dataset[] = ['bench', 'sorted', 'shuffled']
  const figures: Record<string, number> = {}
  const limits = { daily: 30, weekly: 150 }
  // Every store built first (each closed once built), then each timed by a fresh process.
  for (const order of orders) for (const total of sizes) (await benchStore(total, order)).db.close()
  for (const order of orders) {
    for (const total of sizes) {
      const timed = timeInChild(total, order)
      for (const frequency of ['daily', 'weekly'] as const) {
        const ms = timed[frequency]
        figures[`${total}-${order}-${frequency}`] = ms
        report(
          `cold ${frequency} sync, ${total} sessions, ${order}`,
          `${ms.toFixed(1)} ms`,
          `<= ${limits[frequency]} ms`,
          ms <= limits[frequency],
        )
      }
    }
  }
  for (const frequency of ['daily', 'weekly'] as const) {
    for (const total of sizes) {
      const ratio =
        figures[`${total}-shuffled-${frequency}`]! / figures[`${total}-sorted-${frequency}`]!
      report(
        `${frequency}, ${total}: shuffled vs sorted`,
        `${ratio.toFixed(2)}x`,
        '<= 1.2x',
        ratio <= 1.2,
      )
    }
    if (sizes.length === 2) {
      for (const order of orders) {
        const ratio =
          figures[`${sizes[1]}-${order}-${frequency}`]! /
          figures[`${sizes[0]}-${order}-${frequency}`]!
        report(
          `${frequency}, ${order}: ${sizes[1]} vs ${sizes[0]} sessions`,
          `${ratio.toFixed(2)}x`,
          '<= 1.1x',
          ratio <= 1.1,
        )
      }
    }
  }
}
