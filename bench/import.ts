// NDJSON session import through the real CLI: rows per second and peak memory while it streams,
// as a first load (the store holds no sessions yet) and batch by batch (it holds some already),
// on the first benchmarks' data set and on the realistic one, shuffled (bench/datasets.ts).
import { cpSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeSessionsNdjson } from './datasets.ts'
import { END_MS, exists, OUT, report, sampleRss } from './lib.ts'
import { realisticFile } from './sync.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000)
const file = join(OUT, `sessions-${ROWS}.ndjson`)
if (!exists(file)) {
  console.log(`generating ${file} …`)
  await writeSessionsNdjson(file, ROWS, 26_000, END_MS)
}

/** Runs `mida-export import sessions FILE` on a data dir; returns seconds and RSS samples. */
async function importFile(path: string, dataDir: string, rows: number) {
  const started = performance.now()
  const child = Bun.spawn(
    [process.execPath, 'src/main.ts', 'import', 'sessions', path, '--data-dir', dataDir, '--json'],
    { cwd: join(import.meta.dir, '..'), stdout: 'pipe', stderr: 'inherit' },
  )
  const rss = sampleRss(child.pid)
  const out = await new Response(child.stdout).text()
  await child.exited
  const peak = rss.stop()
  const seconds = (performance.now() - started) / 1000
  // A file with bad lines exits 1 once every good line is written: the summary says which.
  const summary = JSON.parse(out || '{}')
  if (summary.inserted !== rows) throw new Error(`expected ${rows} inserted, got ${out}`)
  return { seconds, peak, samples: rss.samples() }
}

// First load: the store is empty, the import is one transaction with indexes built at the end.
const firstDir = join(OUT, 'import-db')
rmSync(firstDir, { recursive: true, force: true })
const first = await importFile(file, firstDir, ROWS)
const rate = ROWS / first.seconds
report(
  `NDJSON import of ${ROWS} sessions, first load`,
  `${Math.round(rate)} rows/s (${first.seconds.toFixed(1)} s)`,
  '>= 150000 rows/s',
  rate >= 150_000,
)
// The bench set's store, kept to import into below.
const holding = join(OUT, 'import-holding-db')
rmSync(holding, { recursive: true, force: true })
cpSync(firstDir, holding, { recursive: true })

// The realistic set, shuffled: random ids, out of time order, 2 % of lines sent twice, bad lines.
const shuffled = await realisticFile(ROWS, true)
rmSync(firstDir, { recursive: true, force: true })
const real = await importFile(shuffled, firstDir, ROWS)
const realRate = ROWS / real.seconds
report(
  `realistic shuffled file, ${ROWS} sessions, first load`,
  `${Math.round(realRate)} rows/s (${real.seconds.toFixed(1)} s)`,
  '>= 150000 rows/s',
  realRate >= 150_000,
)
report('that first load: peak RSS', `${real.peak.toFixed(0)} MB`, '<= 200 MB', real.peak <= 200)
// The same file into a store holding the bench set's sessions: the batched path.
const into = await importFile(shuffled, holding, ROWS)
const intoRate = ROWS / into.seconds
report(
  `realistic shuffled file into a store of ${ROWS} sessions`,
  `${Math.round(intoRate)} rows/s (${into.seconds.toFixed(1)} s)`,
  '>= 100000 rows/s',
  intoRate >= 100_000,
)
report('that import: peak RSS', `${into.peak.toFixed(0)} MB`, '<= 200 MB', into.peak <= 200)
rmSync(holding, { recursive: true, force: true })
// Flat: memory does not grow with the input. Twice the rows (same days, twice as busy) should
// peak no higher: the page cache and the index sorter's memory are bounded.
const doubleFile = join(OUT, `sessions-${2 * ROWS}.ndjson`)
if (!exists(doubleFile)) {
  console.log(`generating ${doubleFile} …`)
  await writeSessionsNdjson(doubleFile, 2 * ROWS, 52_000, END_MS)
}
rmSync(firstDir, { recursive: true, force: true })
const double = await importFile(doubleFile, firstDir, 2 * ROWS)
report(
  `first load peak RSS, ${ROWS} / ${2 * ROWS} sessions`,
  `${first.peak.toFixed(0)} / ${double.peak.toFixed(0)} MB`,
  'twice the rows within 10 %',
  double.peak <= first.peak * 1.1,
)
console.log(
  `      (${2 * ROWS} sessions: ${Math.round((2 * ROWS) / double.seconds)} rows/s, ${double.seconds.toFixed(1)} s)`,
)

// Batched: the same rows into a store that holds a session already, 50 000 rows a transaction.
const batchedDir = join(OUT, 'import-batched-db')
rmSync(batchedDir, { recursive: true, force: true })
const seed = join(OUT, 'seed-session.ndjson')
writeFileSync(seed, '{"id":"seed","visitor_id":"seed","started_at":1764000000000}\n')
await importFile(seed, batchedDir, 1)
const batched = await importFile(file, batchedDir, ROWS)
const batchedRate = ROWS / batched.seconds
console.log(
  `INFO  ${`NDJSON import of ${ROWS} sessions into a store holding some`.padEnd(52)} ${Math.round(batchedRate)} rows/s (${batched.seconds.toFixed(1)} s), no target of its own`,
)
// Flat: the second half of the run (more rows stored, more read) needs no more memory than the first.
const half = Math.floor(batched.samples.length / 2)
const firstHalf = Math.max(...batched.samples.slice(0, half))
const secondHalf = Math.max(...batched.samples.slice(half))
report(
  'that import: peak RSS of its 1st half / 2nd half',
  `${firstHalf.toFixed(0)} / ${secondHalf.toFixed(0)} MB`,
  '2nd half within 10 % of 1st',
  secondHalf <= firstHalf * 1.1,
)
rmSync(batchedDir, { recursive: true, force: true })
