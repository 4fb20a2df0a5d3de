// NDJSON session import through the real CLI: rows per second and peak memory while it streams.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeSessionsNdjson } from './datasets.ts'
import { END_MS, exists, OUT, report, sampleRss } from './lib.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000)
const file = join(OUT, `sessions-${ROWS}.ndjson`)
if (!exists(file)) {
  console.log(`generating ${file} …`)
  await writeSessionsNdjson(file, ROWS, 26_000, END_MS)
}
const dataDir = join(OUT, 'import-db')
rmSync(dataDir, { recursive: true, force: true })

const started = performance.now()
const child = Bun.spawn(
  [process.execPath, 'src/main.ts', 'import', 'sessions', file, '--data-dir', dataDir, '--json'],
  { cwd: join(import.meta.dir, '..'), stdout: 'pipe', stderr: 'inherit' },
)
const rss = sampleRss(child.pid)
const out = await new Response(child.stdout).text()
await child.exited
const peak = rss.stop()
const seconds = (performance.now() - started) / 1000
const summary = JSON.parse(out)
if (summary.inserted !== ROWS) throw new Error(`expected ${ROWS} inserted, got ${out}`)
const rate = ROWS / seconds
report(
  `NDJSON import of ${ROWS} sessions`,
  `${Math.round(rate)} rows/s (${seconds.toFixed(1)} s)`,
  '>= 100000 rows/s',
  rate >= 100_000,
)
// Flat: the second half of the run (more rows stored, more read) needs no more memory than the first.
const samples = rss.samples()
const half = Math.floor(samples.length / 2)
const firstHalf = Math.max(...samples.slice(0, half))
const secondHalf = Math.max(...samples.slice(half))
report(
  'import RSS: peak of 1st half / 2nd half of the run',
  `${firstHalf.toFixed(0)} / ${secondHalf.toFixed(0)} MB`,
  '2nd half within 10 % of 1st',
  secondHalf <= firstHalf * 1.1,
)
console.log(`      (peak RSS ${peak.toFixed(0)} MB)`)
