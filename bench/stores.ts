// Several stores in one database (issue 18): BENCH_STORES stores (100) of BENCH_SESSIONS_PER_STORE
// sessions (10 000) each, beside a database of one such store, on SQLite (and on PostgreSQL when
// its server programs are installed: a throw-away durable cluster, as bench/postgres.ts starts,
// the databases written by the same writers). Each database serves from a process of its own:
//   - the scheduler's catch-up at start: every store's due period, synced by the first tick;
//   - cold syncs: a past day of each store, one call at a time (a date never synced before);
//   - stored answers: the same calls after a restart (the records read, nothing remembered);
//   - current answers under wrk (50 connections), each call with the key of a random store;
//   - collect under wrk, each visitor's events posted to one of the stores' tracking ids, and
//     the tracker's preflight (OPTIONS), which names no store;
//   - the /stores page of an admin of every store (each store's last and previous period).
// The data: sessions over the 30 days before the hour it is built in (the server runs on the
// real clock, so "yesterday" holds data), ~3 % of them ordering, each store in its own time zone.
// The built databases are kept in bench/out/ for the day; each run works on a copy of them.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { type Data, SqliteData } from '../src/db/data.ts'
import { openDatabase } from '../src/db/database.ts'
import { openData } from '../src/db/open.ts'
import { createOrResetAdmin, startSession } from '../src/domain/admins.ts'
import { FixedClock, systemClock } from '../src/domain/clock.ts'
import { writeOrders, writeSessions } from '../src/domain/ingest/writers.ts'
import { createApiKey } from '../src/domain/keys.ts'
import type { OrderRecord, SessionRecord } from '../src/domain/records.ts'
import { updateSettings } from '../src/domain/settings.ts'
import { createStore, ensureDefaultStore, type Store } from '../src/domain/stores.ts'
import { findPgBin, startCluster } from '../test/pg/cluster.ts'
import { prng, sessionAt } from './datasets.ts'
import { COLLECT_MIXES, collectScript, DAY_MS, exists, OUT } from './lib.ts'
import { orderOf } from './sync.ts'

const ROOT = join(import.meta.dir, '..')
const STORES = Number(process.env.BENCH_STORES ?? 100)
const PER_STORE = Number(process.env.BENCH_SESSIONS_PER_STORE ?? 10_000)
const DURATION = process.env.BENCH_DURATION ?? '5s'
/** Rounds of the wrk loads, the two databases alternating in each (the VM's speed drifts). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/** Which engines: `sqlite`, `postgres`, or both (PostgreSQL when its programs are installed). */
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',')
/** Past days asked for by the cold calls: at least this many calls on each database. */
const COLD_DAYS = 28
const HOUR_MS = 3_600_000
const TIME_ZONES = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'America/Los_Angeles',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Asia/Kolkata',
  'America/Sao_Paulo',
  'Europe/London',
  'Pacific/Auckland',
]
const CURRENCIES = ['EUR', 'USD', 'GBP', 'USD', 'JPY']

if (!Bun.which('wrk')) {
  console.error('wrk is needed: apt-get install wrk')
  process.exit(1)
}

/** What a run needs of a store: its key (export scope) and tracking id. */
interface StoreInfo {
  slug: string
  trackingId: string
  key: string
}

/**
 * Writes `count` stores of `perStore` sessions each (over the 30 days before `end`) into `data`
 * by the import's writers, a store at a time, with an export key per store; returns the stores.
 */
async function fillStores(
  data: Data,
  count: number,
  perStore: number,
  end: number,
): Promise<StoreInfo[]> {
  const clock = new FixedClock(new Date(end).toISOString())
  const perDay = Math.ceil(perStore / 30)
  const stores: StoreInfo[] = []
  for (let s = 0; s < count; s++) {
    const timezone = TIME_ZONES[s % TIME_ZONES.length]!
    const currency = CURRENCIES[s % CURRENCIES.length]!
    let store: Store
    if (s === 0) {
      store = await ensureDefaultStore(data, clock)
      await updateSettings(data, store, { store_name: 'Store 0', timezone, currency }, clock)
    } else {
      const by = { actor: 'cli', address: null }
      store = await createStore(
        data,
        { slug: `store-${s}`, name: `Store ${s}`, timezone, currency },
        clock,
        by,
      )
    }
    await updateSettings(data, store, { api_enabled: true, allowed_origins: '' }, clock)
    // Each store's sessions a little before the others' (within one session's spacing).
    const shift = Math.floor((s / count) * ((30 * DAY_MS) / perStore))
    const rand = prng(1000 + s)
    const sessions: SessionRecord[] = []
    const orders: OrderRecord[] = []
    for (let i = 0; i < perStore; i++) {
      const session = sessionAt(i, perDay, end, perStore, rand) as SessionRecord
      // sessionAt spreads them evenly over the ceil(perStore / perDay) = 30 days before `end`.
      session.started_at -= shift
      session.ended_at -= shift
      sessions.push(session)
      const order = orderOf(session, i, rand)
      if (order) orders.push(order)
    }
    await writeSessions(data, store, sessions, clock)
    await writeOrders(data, store, orders, clock)
    const { secret } = await createApiKey(data, store, 'bench', 'export', clock)
    stores.push({ slug: store.slug, trackingId: store.trackingId, key: secret })
  }
  return stores
}

/** The hour the data sets end at: now, to the hour (the server runs on the real clock). */
const endHour = () => Math.floor(Date.now() / HOUR_MS) * HOUR_MS

/**
 * Builds once a day (then reuses) a data dir of `count` stores of `perStore` sessions each;
 * returns the dir and its stores.
 */
async function buildStores(
  count: number,
  perStore: number,
): Promise<{ dir: string; stores: StoreInfo[] }> {
  const end = endHour()
  const name = `stores-${count}x${perStore}`
  const dir = join(OUT, `${name}-${new Date(end).toISOString().slice(0, 10)}`)
  const manifest = join(dir, 'stores.json')
  if (exists(manifest)) return { dir, stores: JSON.parse(readFileSync(manifest, 'utf8')) }
  // Yesterday's build (its data a day short) and a half-built one go.
  for (const old of readdirSync(OUT).filter((f) => f.startsWith(`${name}-`)))
    rmSync(join(OUT, old), { recursive: true, force: true })
  console.log(`building ${count} stores of ${perStore} sessions in ${dir} …`)
  const started = performance.now()
  const db = openDatabase(dir, { secretKey: undefined })
  const stores = await fillStores(new SqliteData(db), count, perStore, end)
  db.exec('ANALYZE')
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
  writeFileSync(manifest, JSON.stringify(stores))
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { dir, stores }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!
}
const msOf = (m: RegExpExecArray | null) =>
  m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : Number.NaN

/** A database under test: one of the two, on one engine, served on its own port. */
interface Target {
  label: string
  stores: StoreInfo[]
  /** --data-dir DIR or --database-url URL. */
  flags: string[]
  open: () => Promise<Data>
  port: number
  stop?: () => Promise<void>
}

/** Starts the target's server; resolves with the seconds until it answered /healthz. */
async function serve(target: Target): Promise<number> {
  const started = performance.now()
  const server = Bun.spawn(
    [process.execPath, 'src/main.ts', 'serve', '--port', String(target.port), ...target.flags],
    {
      cwd: ROOT,
      stdout: 'ignore',
      stderr: 'ignore',
      // wrk posts every event from 127.0.0.1: the per-address limit is lifted (as collect.ts).
      env: { ...process.env, MIDA_COLLECT_IP_RATE: '9999999/1s' },
    },
  )
  const kill = () => server.kill()
  process.on('exit', kill)
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${target.port}/healthz`)).ok) break
    } catch {}
    if (i > 1200) throw new Error(`${target.label}: the server did not start`)
    await Bun.sleep(25)
  }
  target.stop = async () => {
    server.kill('SIGTERM')
    await server.exited
    process.off('exit', kill)
  }
  return (performance.now() - started) / 1000
}

/**
 * Seconds from the server's start until it answered /healthz, and until the scheduler had synced
 * every store's due period.
 */
async function catchUp(target: Target): Promise<{ ready: number; synced: number }> {
  const data = await target.open()
  const started = performance.now()
  const ready = await serve(target)
  for (;;) {
    const row = await data.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM sync_records WHERE status = 'success' AND trigger = 'scheduler'",
    )
    if (Number(row?.n) >= target.stores.length) break
    if (performance.now() - started > 600_000) throw new Error(`${target.label}: no catch-up`)
    await Bun.sleep(20)
  }
  const synced = (performance.now() - started) / 1000
  await data.close()
  return { ready, synced }
}

/** The day `daysAgo` days before today (UTC), as the API takes it: past in every time zone. */
const dayAgo = (daysAgo: number) =>
  new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10)

/**
 * One sync call at a time, for past days of every store (`max(stores, COLD_DAYS)` calls, the
 * i-th for store i mod stores and day 2 + i mod COLD_DAYS ago): latencies and calls a second.
 */
async function sequentialSyncs(target: Target) {
  const calls = Math.max(target.stores.length, COLD_DAYS)
  const times: number[] = []
  let errors = 0
  const started = performance.now()
  for (let i = 0; i < calls; i++) {
    const store = target.stores[i % target.stores.length]!
    const t = performance.now()
    const res = await fetch(`http://127.0.0.1:${target.port}/apiv1/analytics/sync`, {
      method: 'POST',
      headers: { 'x-mida-secret-key': store.key, 'content-type': 'application/json' },
      body: JSON.stringify({ date: dayAgo(2 + (i % COLD_DAYS)) }),
    })
    await res.arrayBuffer()
    times.push(performance.now() - t)
    if (res.status !== 200) errors++
  }
  const seconds = (performance.now() - started) / 1000
  return { calls, rps: calls / seconds, ...latencies(times), errors }
}

function latencies(times: number[]) {
  return {
    p50: percentile(times, 0.5),
    p90: percentile(times, 0.9),
    p99: percentile(times, 0.99),
    max: Math.max(...times),
  }
}

/** Every store's last period once (the answer then remembered), as a client's first call. */
async function warm(target: Target): Promise<void> {
  for (const store of target.stores) {
    const res = await fetch(`http://127.0.0.1:${target.port}/apiv1/analytics/sync`, {
      method: 'POST',
      headers: { 'x-mida-secret-key': store.key },
    })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`${target.label}: sync answered ${res.status}`)
  }
}

async function wrk(script: string, port: number) {
  const p = Bun.spawn(
    ['wrk', '-t2', '-c50', `-d${DURATION}`, '--latency', '-s', script, `http://127.0.0.1:${port}`],
    { stdout: 'pipe' },
  )
  const out = await new Response(p.stdout).text()
  await p.exited
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: msOf(/50%\s+([\d.]+)(us|ms|s)/.exec(out)),
    p90: msOf(/90%\s+([\d.]+)(us|ms|s)/.exec(out)),
    p99: msOf(/99%\s+([\d.]+)(us|ms|s)/.exec(out)),
    errors:
      Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) +
      (sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0),
  }
}

/** A wrk script calling the sync API with the key of a random store each time. */
function syncScript(target: Target, name: string): string {
  const path = join(OUT, `${name}.lua`)
  writeFileSync(
    path,
    `
local keys = { ${target.stores.map((s) => JSON.stringify(s.key)).join(', ')} }
request = function()
  local headers = { ["x-mida-secret-key"] = keys[math.random(1, #keys)] }
  return wrk.format("POST", "/apiv1/analytics/sync", headers, nil)
end
`,
  )
  return path
}

/**
 * A wrk script sending the tracker's preflight (OPTIONS /apiv1/collect from a shop's origin):
 * named by no store, it is answered by looking at every store's allowed origins.
 */
function preflightScript(): string {
  const path = join(OUT, 'stores-preflight.lua')
  writeFileSync(
    path,
    `
wrk.method = "OPTIONS"
wrk.path = "/apiv1/collect"
wrk.headers["Origin"] = "https://shop.example"
wrk.headers["Access-Control-Request-Method"] = "POST"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
`,
  )
  return path
}

/** The /stores page for an admin of every store: the first render and the median of five more. */
async function storesPage(target: Target): Promise<{ first: number; median: number }> {
  const data = await target.open()
  const { admin } = await createOrResetAdmin(
    data,
    'bench@example.com',
    'bench-password-1',
    systemClock,
    undefined,
    'all',
  )
  const { token } = await startSession(data, admin.id, systemClock)
  await data.close()
  const times: number[] = []
  for (let i = 0; i < 6; i++) {
    const t = performance.now()
    const res = await fetch(`http://127.0.0.1:${target.port}/stores`, {
      headers: { cookie: `mida_session=${token}` },
    })
    const html = await res.text()
    times.push(performance.now() - t)
    const last = target.stores.at(-1)!.slug
    if (res.status !== 200 || !html.includes(last))
      throw new Error(`${target.label}: /stores answered ${res.status} without ${last}`)
  }
  return { first: times[0]!, median: median(times.slice(1)) }
}

type Wrk = Awaited<ReturnType<typeof wrk>>

/** Every measurement on one engine, the two databases side by side. */
async function measure(engine: string, multi: Target, one: Target) {
  const both = [multi, one] as const
  const catchUps: { ready: number; synced: number }[] = []
  const cold: Awaited<ReturnType<typeof sequentialSyncs>>[] = []
  for (const target of both) {
    catchUps.push(await catchUp(target))
    cold.push(await sequentialSyncs(target))
    await target.stop?.()
  }
  // Restarted: the stored records are read again, nothing is remembered.
  const stored: typeof cold = []
  for (const target of both) {
    await serve(target)
    stored.push(await sequentialSyncs(target))
    await warm(target)
  }
  const current: Wrk[][] = [[], []]
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, target] of both.entries())
      current[i]!.push(await wrk(syncScript(target, `stores-sync-${i}`), target.port))
  const preflight: Wrk[][] = [[], []]
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, target] of both.entries())
      preflight[i]!.push(await wrk(preflightScript(), target.port))
  const pages = [await storesPage(multi), await storesPage(one)]
  const collect: Record<string, Wrk[][]> = {}
  for (let round = 0; round < ROUNDS; round++) {
    for (const [mix, visitor] of Object.entries(COLLECT_MIXES)) {
      for (const [i, target] of both.entries()) {
        const ids = target.stores.map((s) => s.trackingId)
        const script = collectScript(`stores-collect-${mix}-${i}`, ids, visitor)
        collect[mix] ??= [[], []]
        collect[mix]![i]!.push(await wrk(script, target.port))
      }
    }
  }
  for (const target of both) await target.stop?.()

  const n = multi.stores.length
  const heads = [`${n} stores`, '1 store']
  console.log(`\n${engine}: ${n} stores of ${PER_STORE} sessions in one database, beside one store`)
  const row = (what: string, values: string[]) =>
    console.log(`  ${what.padEnd(58)} ${values.map((v) => v.padStart(30)).join('')}`)
  row('', heads)
  row(
    'start: /healthz answers, every due period synced',
    catchUps.map((s) => `${s.ready.toFixed(2)} s, ${s.synced.toFixed(2)} s`),
  )
  const seq = (what: string, runs: typeof cold) => {
    row(
      `${what}: calls (one at a time), calls/s`,
      runs.map((r) => `${r.calls}, ${r.rps.toFixed(0)}/s`),
    )
    row(
      `${what}: p50 / p90 / p99 / max ms`,
      runs.map(
        (r) =>
          `${r.p50.toFixed(1)} / ${r.p90.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(1)}`,
      ),
    )
  }
  seq('cold sync (a past day)', cold)
  seq('stored sync after a restart', stored)
  const wrkRows = (what: string, runs: Wrk[][]) => {
    row(
      `${what}: req/s rounds`,
      runs.map((r) => r.map((x) => Math.round(x.rps)).join(' / ')),
    )
    row(
      `${what}: median req/s`,
      runs.map((r) => String(Math.round(median(r.map((x) => x.rps))))),
    )
    row(
      `${what}: p50 / p90 / p99 ms (worst round)`,
      runs.map(
        (r) =>
          `${Math.max(...r.map((x) => x.p50)).toFixed(2)} / ${Math.max(...r.map((x) => x.p90)).toFixed(2)} / ${Math.max(...r.map((x) => x.p99)).toFixed(2)}`,
      ),
    )
  }
  wrkRows('current sync (wrk, 50 conns, random store)', current)
  for (const [mix, runs] of Object.entries(collect)) wrkRows(`collect, ${mix}`, runs)
  wrkRows('collect preflight (OPTIONS)', preflight)
  row(
    '/stores page, first / median of 5 (ms)',
    pages.map((p) => `${p.first.toFixed(0)} / ${p.median.toFixed(0)}`),
  )
  const loads = [...current, ...preflight, ...Object.values(collect).flat()].flat()
  const errors = [...cold, ...stored, ...loads].reduce((sum, r) => sum + r.errors, 0)
  row('errors (non-2xx, socket), every load', [String(errors), ''])
  machine()
}

const multi = await buildStores(STORES, PER_STORE)
const single = await buildStores(1, PER_STORE)
/** The machine, and how busy it is: other processes' load moves every figure. */
const machine = () =>
  console.log(
    `machine: ${cpus()[0]?.model}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  )
machine()

if (ENGINES.includes('sqlite')) {
  // Each run on a copy: collect adds sessions, the syncs add records.
  const targets = [multi, single].map(({ dir, stores }, i): Target => {
    const work = join(OUT, `stores-run-${i}`)
    rmSync(work, { recursive: true, force: true })
    cpSync(dir, work, { recursive: true })
    return {
      label: `sqlite ${stores.length}`,
      stores,
      flags: ['--data-dir', work],
      open: () => openData({ dataDir: work, databaseUrl: undefined, secretKey: undefined }),
      port: 18100 + i,
    }
  })
  await measure('SQLite', targets[0]!, targets[1]!)
}

const bin = findPgBin()
if (ENGINES.includes('postgres') && !bin) console.log('\nPostgreSQL: not installed, skipped')
if (ENGINES.includes('postgres') && bin) {
  const cluster = await startCluster(bin, {
    durable: [
      'shared_buffers=2GB',
      'effective_cache_size=8GB',
      'work_mem=64MB',
      'max_wal_size=8GB',
    ],
  })
  process.on('exit', () => cluster.stop())
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))
  const admin = new Bun.SQL({ url: cluster.url, max: 1 })
  const targets: Target[] = []
  // Written by the same writers as SQLite's, into a database of the bench's own cluster.
  for (const [i, count] of [STORES, 1].entries()) {
    const name = `stores_bench_${i}`
    await admin.unsafe(`CREATE DATABASE ${name}`)
    const url = cluster.url.replace(/\/postgres$/, `/${name}`)
    const started = performance.now()
    const data = await openData({ dataDir: OUT, databaseUrl: url, secretKey: undefined })
    const stores = await fillStores(data, count, PER_STORE, endHour())
    await data.run('VACUUM ANALYZE')
    await data.close()
    console.log(
      `wrote ${count} store(s) of ${PER_STORE} sessions into PostgreSQL in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )
    targets.push({
      label: `postgres ${count}`,
      stores,
      flags: ['--database-url', url],
      open: () => openData({ dataDir: OUT, databaseUrl: url, secretKey: undefined }),
      port: 18110 + i,
    })
  }
  await admin.close()
  await measure('PostgreSQL', targets[0]!, targets[1]!)
}
