// The report API (issue 19, `GET /apiv1/analytics/report`) on the 1 M-session bench store of
// bench/sync.ts (26 000 sessions a day over the 39 days before END_MS, 2.5 % ordering), on SQLite
// and on PostgreSQL (the store copied with `db copy` into a throw-away durable cluster, as
// bench/postgres.ts does) when its server programs are installed. Each engine's database is
// served by a `serve` process of its own whose clock is fixed 6 hours into the day after the data
// (this file run with --serve), so the default range (the 30 days ending yesterday) is the data's
// last 30 days. One call at a time, the cases taking turns in each of BENCH_REPEATS rounds after
// one call each to warm up:
//   - json, the default range (30 days); the same with compare=previous_period;
//   - csv by day over the data set's whole range (39 days), and over the longest range (400 days);
//   - csv by landing_page and ndjson by device, 30 days;
// beside them, for scale, the sync API's cold weekly sync (each a week never synced: the 4 whole
// weeks of the data before the one the scheduler syncs at start). The server's peak RSS is
// sampled throughout. After the server stops, the 30-day report and the cold weekly sync are
// timed in-process too (`buildReport`, `syncPeriod`), without HTTP.
// Target: a 30-day JSON report in at most 500 ms (median) on the 1 M store, each engine.
import { cpSync, rmSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { processIo } from '../src/cli/io.ts'
import type { Data } from '../src/db/data.ts'
import { openData } from '../src/db/open.ts'
import { FixedClock } from '../src/domain/clock.ts'
import { createApiKey } from '../src/domain/keys.ts'
import { buildReport } from '../src/domain/report.ts'
import { readSettings, updateSettings } from '../src/domain/settings.ts'
import { ensureDefaultStore } from '../src/domain/stores.ts'
import { runCli } from '../src/main.ts'
import { findPgBin, startCluster } from '../test/pg/cluster.ts'
import { DAY_MS, END_MS, OUT, report, sampleRss } from './lib.ts'
import { benchStore, medianColdSync } from './sync.ts'

const ROOT = join(import.meta.dir, '..')
const TOTAL = Number(process.env.BENCH_TOTAL ?? 1_000_000)
const REPEATS = Number(process.env.BENCH_REPEATS ?? 10)
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',')
const PER_DAY = 26_000
const PORT = 18095
/** The servers' clock: 06:00 UTC on the day after the data, so "yesterday" is its last day. */
const NOW = new Date(END_MS + 6 * 3_600_000).toISOString()
const clock = new FixedClock(NOW)
const TARGET_MS = 500

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)]!
}

/** The data's days (UTC, the bench store's time zone). */
const LAST_DAY = day(END_MS - DAY_MS)
const FIRST_DAY = day(END_MS - Math.ceil(TOTAL / PER_DAY) * DAY_MS)
const LONGEST_FROM = day(END_MS - 400 * DAY_MS)

/** The report calls timed, each a query string. */
const CASES: { name: string; query: string }[] = [
  { name: 'json, 30 days (default range)', query: '' },
  { name: 'json, 30 days, compare=previous_period', query: 'compare=previous_period' },
  {
    name: `csv by day, whole data set (${FIRST_DAY}..${LAST_DAY})`,
    query: `format=csv&dimension=day&from=${FIRST_DAY}&to=${LAST_DAY}`,
  },
  {
    name: 'csv by day, 400 days (the longest range)',
    query: `format=csv&dimension=day&from=${LONGEST_FROM}&to=${LAST_DAY}`,
  },
  { name: 'csv by landing_page, 30 days', query: 'format=csv&dimension=landing_page' },
  { name: 'ndjson by device, 30 days', query: 'format=ndjson&dimension=device' },
]

/** Mondays of the whole weeks of data before the week the scheduler syncs at start. */
function coldWeeks(): string[] {
  const weeks: string[] = []
  const thisMonday = END_MS - ((new Date(END_MS).getUTCDay() + 6) % 7) * DAY_MS
  const lastSynced = thisMonday - 7 * DAY_MS
  for (let monday = lastSynced - 7 * DAY_MS; day(monday) >= FIRST_DAY; monday -= 7 * DAY_MS)
    weeks.unshift(day(monday))
  return weeks
}

interface Engine {
  name: 'sqlite' | 'postgres'
  flags: string[]
  databaseUrl?: string
}

interface Figures {
  first: Record<string, number>
  times: Record<string, number[]>
  bytes: Record<string, number>
  sync: number[]
  peakRss: number
  idleRss: number
  inProcessReport: number
  inProcessSync: number
}

/** The keys and settings a run needs, written with the servers' clock. */
async function prepare(engine: Engine): Promise<{ report: string; sync: string }> {
  const data = await openData({
    dataDir: join(OUT, `report-${TOTAL}`),
    databaseUrl: engine.databaseUrl,
    secretKey: undefined,
  })
  const store = await ensureDefaultStore(data, clock)
  await updateSettings(data, store, { api_enabled: true, sync_frequency: 'weekly' }, clock)
  const reportKey = await createApiKey(data, store, 'report bench', 'report', clock)
  const syncKey = await createApiKey(data, store, 'report bench sync', 'export', clock)
  await data.close()
  return { report: reportKey.secret, sync: syncKey.secret }
}

async function serve(engine: Engine) {
  const server = Bun.spawn(
    [process.execPath, import.meta.path, '--serve', '--port', String(PORT), ...engine.flags],
    { cwd: ROOT, stdout: 'ignore', stderr: 'ignore', env: process.env },
  )
  const kill = () => server.kill()
  process.on('exit', kill)
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/healthz`)).ok) break
    } catch {}
    if (i > 1200) throw new Error(`${engine.name}: the server did not start`)
    await Bun.sleep(25)
  }
  return {
    pid: server.pid,
    stop: async () => {
      server.kill('SIGTERM')
      await server.exited
      process.off('exit', kill)
    },
  }
}

/** One call: its time in ms and the body's size; anything but 200 stops the bench. */
async function call(path: string, init: RequestInit): Promise<[number, number]> {
  const t = performance.now()
  const response = await fetch(`http://127.0.0.1:${PORT}${path}`, init)
  const body = await response.arrayBuffer()
  const ms = performance.now() - t
  if (response.status !== 200) {
    throw new Error(`${path}: ${response.status} ${new TextDecoder().decode(body).slice(0, 300)}`)
  }
  return [ms, body.byteLength]
}

async function run(engine: Engine): Promise<Figures> {
  const keys = await prepare(engine)
  const server = await serve(engine)
  const rss = sampleRss(server.pid)
  const reportInit = { headers: { 'x-mida-secret-key': keys.report } }
  const path = (query: string) => `/apiv1/analytics/report${query ? `?${query}` : ''}`
  // The scheduler's first tick syncs the last whole week at start: waited for, by asking it.
  await call('/apiv1/analytics/sync', {
    method: 'POST',
    headers: { 'x-mida-secret-key': keys.sync },
  })
  const idleRss = rss.samples().at(-1) ?? 0
  const figures: Figures = {
    first: {},
    times: {},
    bytes: {},
    sync: [],
    peakRss: 0,
    idleRss,
    inProcessReport: 0,
    inProcessSync: 0,
  }
  for (const c of CASES) {
    const [ms, bytes] = await call(path(c.query), reportInit)
    figures.first[c.name] = ms
    figures.bytes[c.name] = bytes
    figures.times[c.name] = []
  }
  const weeks = coldWeeks()
  for (let round = 0; round < REPEATS; round++) {
    for (const c of CASES) figures.times[c.name]!.push((await call(path(c.query), reportInit))[0])
    // The cold weekly syncs spread over the rounds, between report calls.
    const week = weeks[round]
    if (week !== undefined) {
      const [ms] = await call('/apiv1/analytics/sync', {
        method: 'POST',
        headers: { 'x-mida-secret-key': keys.sync, 'content-type': 'application/json' },
        body: JSON.stringify({ date: week }),
      })
      figures.sync.push(ms)
    }
  }
  figures.peakRss = rss.stop()
  await server.stop()
  // In-process, without HTTP: the 30-day report and the cold weekly sync, median of REPEATS.
  const data: Data = await openData({
    dataDir: join(OUT, `report-${TOTAL}`),
    databaseUrl: engine.databaseUrl,
    secretKey: undefined,
  })
  const store = await ensureDefaultStore(data, clock)
  const settings = await readSettings(data, store)
  const times: number[] = []
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now()
    await buildReport(data, store, settings, { format: 'json' }, clock)
    times.push(performance.now() - t)
  }
  figures.inProcessReport = median(times)
  figures.inProcessSync = await medianColdSync(data, store, 'weekly', Math.min(REPEATS, 10))
  await data.close()
  return figures
}

function print(engine: Engine, f: Figures): void {
  console.log(`\n-- ${engine.name}, ${TOTAL} sessions, ${REPEATS} rounds after one call each`)
  for (const c of CASES) {
    const times = f.times[c.name]!
    const line = `${median(times).toFixed(1)} / ${percentile(times, 0.95).toFixed(1)} ms`
    console.log(
      `INFO  ${`${c.name}, p50 / p95`.padEnd(52)} ${line.padEnd(24)} first ${f.first[c.name]!.toFixed(1)} ms, ${(f.bytes[c.name]! / 1024).toFixed(1)} KiB`,
    )
  }
  const json30 = median(f.times[CASES[0]!.name]!)
  report(
    `json 30 days, ${TOTAL} sessions, ${engine.name}, median`,
    `${json30.toFixed(1)} ms`,
    `<= ${TARGET_MS} ms`,
    json30 <= TARGET_MS,
  )
  console.log(
    `INFO  ${'sync API, cold weekly (one week each), p50 / max'.padEnd(52)} ${`${median(f.sync).toFixed(1)} / ${Math.max(...f.sync).toFixed(1)} ms`.padEnd(24)} ${f.sync.map((ms) => ms.toFixed(0)).join(', ')} ms`,
  )
  console.log(
    `INFO  ${'json 30 days vs cold weekly sync (medians)'.padEnd(52)} ${(json30 / median(f.sync)).toFixed(2)}x`,
  )
  console.log(
    `INFO  ${'in-process: 30-day report / cold weekly sync, p50'.padEnd(52)} ${f.inProcessReport.toFixed(1)} / ${f.inProcessSync.toFixed(1)} ms`,
  )
  console.log(
    `INFO  ${'server RSS: after start / peak'.padEnd(52)} ${f.idleRss.toFixed(0)} / ${f.peakRss.toFixed(0)} MB`,
  )
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')
  console.log(
    `machine: ${cpus()[0]?.model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Bun ${Bun.version}; load average at start ${load()}`,
  )
  // A copy of the bench store: its settings (weekly sync) and keys are this bench's own.
  ;(await benchStore(TOTAL)).db.close()
  const dir = join(OUT, `report-${TOTAL}`)
  rmSync(dir, { recursive: true, force: true })
  cpSync(join(OUT, `store-${TOTAL}`), dir, { recursive: true })
  const engines: Engine[] = []
  if (ENGINES.includes('sqlite')) engines.push({ name: 'sqlite', flags: ['--data-dir', dir] })
  let stopCluster = () => {}
  if (ENGINES.includes('postgres')) {
    const bin = findPgBin()
    if (!bin) console.log('PostgreSQL skipped: its server programs are not installed')
    else {
      const cluster = await startCluster(bin, {
        durable: ['shared_buffers=2GB', 'effective_cache_size=8GB', 'work_mem=64MB'],
      })
      stopCluster = () => cluster.stop()
      process.on('exit', stopCluster)
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        process.on(signal, () => process.exit(130))
      const admin = new Bun.SQL({ url: cluster.url, max: 1 })
      await admin.unsafe('CREATE DATABASE report_bench')
      await admin.close()
      const url = cluster.url.replace(/\/postgres$/, '/report_bench')
      const t = performance.now()
      const copied = Bun.spawnSync(
        [process.execPath, 'src/main.ts', 'db', 'copy', '--from', `sqlite:${dir}`, '--to', url],
        { cwd: ROOT, stdout: 'ignore', stderr: 'pipe' },
      )
      if (copied.exitCode !== 0) throw new Error(`db copy failed: ${copied.stderr.toString()}`)
      const sql = new Bun.SQL({ url, max: 1 })
      await sql.unsafe('VACUUM ANALYZE')
      await sql.close()
      console.log(
        `db copy to PostgreSQL and VACUUM ANALYZE: ${((performance.now() - t) / 1000).toFixed(1)} s`,
      )
      engines.push({ name: 'postgres', flags: ['--database-url', url], databaseUrl: url })
    }
  }
  for (const engine of engines) print(engine, await run(engine))
  stopCluster()
  rmSync(dir, { recursive: true, force: true })
  console.log(`\nload average at end ${load()}`)
}

if (import.meta.main && process.argv[2] === '--serve') {
  // A server like `mida-export serve`, on the fixed clock.
  process.exitCode = await runCli(['serve', ...process.argv.slice(3)], processIo(), clock)
} else if (import.meta.main) {
  await main()
}
