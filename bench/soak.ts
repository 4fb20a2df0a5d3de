// Soak run (issue 7): mixed traffic against a real server child process on loopback for a while
// (SOAK_SECONDS, default 600), sampling the server's RSS from /proc every few seconds.
// Prints requests per kind, 5xx count, RSS start/peak/end and whether memory stayed flat.
// Not part of the test suite: `bun bench/soak.ts` (SOAK_SECONDS=60 for a short run).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteData } from '../src/db/data.ts'
import { openDatabase } from '../src/db/database.ts'
import { createOrResetAdmin, startSession } from '../src/domain/admins.ts'
import { systemClock } from '../src/domain/clock.ts'
import { generateDemo } from '../src/domain/demo.ts'
import { createApiKey } from '../src/domain/keys.ts'
import { initialiseSettings, updateSettings } from '../src/domain/settings.ts'
import { ensureDefaultStore } from '../src/domain/stores.ts'
import { signShopifyBody } from '../src/domain/webhooks.ts'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600)
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_MS ?? 5_000)
/** Pause between two requests of one worker (0: as fast as the server answers). */
const PAUSE_MS = Number(process.env.SOAK_PAUSE_MS ?? 1)
const WEBHOOK_SECRET = 'soak-webhook-secret'
const ROOT = join(import.meta.dir, '..')

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

// A data dir with 30 days of demo data, an export key, an admin session and a webhook secret.
const dir = mkdtempSync(join(tmpdir(), 'mida-soak-'))
const db = openDatabase(dir, { secretKey: undefined })
const data = new SqliteData(db)
const store = await ensureDefaultStore(data, systemClock)
await initialiseSettings(data, store, systemClock)
await updateSettings(
  data,
  store,
  { timezone: 'UTC', api_enabled: 'true', shopify_webhook_secret: WEBHOOK_SECRET },
  systemClock,
)
await generateDemo(data, store, 'UTC', { days: 30, seed: 7 }, systemClock)
const exportKey = (await createApiKey(data, store, 'soak', 'export', systemClock)).secret
const { admin } = await createOrResetAdmin(data, 'soak@example.com', 'soak-password-1', systemClock)
const session = await startSession(data, admin.id, systemClock)
db.close()

const server = Bun.spawn([process.execPath, join(ROOT, 'src', 'main.ts'), 'serve', '--port', '0'], {
  cwd: ROOT,
  // The collect workers stand in for many shoppers but all post from 127.0.0.1: the
  // per-address limit (600 events a minute by default) is lifted.
  env: {
    ...process.env,
    MIDA_DATA_DIR: dir,
    HOST: '127.0.0.1',
    MIDA_COLLECT_IP_RATE: '9999999/1s',
  },
  stdout: 'ignore',
  stderr: 'pipe',
})
let banner = ''
const reader = server.stderr.getReader()
while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(banner)) {
  const { value, done } = await reader.read()
  if (done) throw new Error(`server exited: ${banner}`)
  banner += new TextDecoder().decode(value)
}
reader.releaseLock()
void server.stderr.pipeTo(new WritableStream())
const base = `http://127.0.0.1:${/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]}`

const counts: Record<string, number> = {}
const serverErrors: Record<string, number> = {}
const statuses: Record<string, Record<number, number>> = {}
let failures = 0
const deadline = Date.now() + SECONDS * 1000

async function hit(kind: string, input: string, init?: RequestInit): Promise<void> {
  try {
    const res = await fetch(`${base}${input}`, init)
    await res.arrayBuffer()
    counts[kind] = (counts[kind] ?? 0) + 1
    statuses[kind] ??= {}
    const byStatus = statuses[kind]
    byStatus[res.status] = (byStatus[res.status] ?? 0) + 1
    if (res.status >= 500) serverErrors[kind] = (serverErrors[kind] ?? 0) + 1
  } catch {
    failures++
  }
}

/** One worker: calls `step(i)` until the deadline (at most `max` times). */
async function worker(step: (i: number) => Promise<void>, max = 50_000_000): Promise<void> {
  for (let i = 0; i < max && Date.now() < deadline; i++) {
    await step(i)
    if (PAUSE_MS > 0) await Bun.sleep(PAUSE_MS)
  }
}

const today = new Date()
const pastDate = (i: number) =>
  new Date(today.getTime() - (1 + (i % 28)) * 86_400_000).toISOString().slice(0, 10)

const collect = (w: number) => (i: number) =>
  hit('collect', '/apiv1/collect', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)' },
    body: JSON.stringify({
      store: store.trackingId,
      // 5 000 visitors per worker, several pageviews each: sessions grow and get extended.
      visitor: `soak-${w}-${i % 5_000}`,
      event: i % 17 === 0 ? 'add_to_cart' : 'pageview',
      url: `https://shop.example/${i % 3 === 0 ? 'products/p' : 'pages/'}${i % 50}`,
      referrer: i % 5 === 0 ? 'https://www.google.com/' : '',
    }),
  })

const webhook = (i: number) => {
  const body = JSON.stringify({
    id: 900_000_000 + (i % 20_000),
    name: `#S${i}`,
    created_at: `${pastDate(i)}T12:00:00Z`,
    updated_at: new Date(Date.now() - 60_000 + (i % 1000)).toISOString(),
    total_price: `${(10 + (i % 90)).toFixed(2)}`,
    currency: 'USD',
    financial_status: 'paid',
  })
  return hit('webhook', '/apiv1/webhooks/shopify/orders', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': i % 2 ? 'orders/updated' : 'orders/create',
      'x-shopify-webhook-id': `soak-${i}`,
      'x-shopify-hmac-sha256': signShopifyBody(body, WEBHOOK_SECRET),
    },
    body,
  })
}

const sync = (i: number) =>
  hit('sync', '/apiv1/analytics/sync', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mida-secret-key': exportKey },
    body: i % 3 === 0 ? '' : JSON.stringify({ date: pastDate(i) }),
  })

const pages = ['/settings', '/settings/keys', '/settings/sync-log', '/settings/tracking/today']
const settingsPage = (i: number) =>
  hit('settings', pages[i % pages.length] as string, {
    headers: { cookie: `mida_session=${session.token}` },
  })

const samples: { t: number; rss: number }[] = []
const started = Date.now()
const sample = () => samples.push({ t: (Date.now() - started) / 1000, rss: rssMb(server.pid) })
sample()
const sampler = setInterval(() => {
  sample()
  const last = samples.at(-1)
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  console.log(`t=${last?.t.toFixed(0)}s rss=${last?.rss.toFixed(1)} MB requests=${total}`)
}, SAMPLE_MS)

await Promise.all([
  worker(collect(0)),
  worker(collect(1)),
  worker(collect(2)),
  worker(webhook),
  worker(sync),
  worker(settingsPage),
])
clearInterval(sampler)
sample()

server.kill('SIGTERM')
const exitCode = await server.exited
rmSync(dir, { recursive: true, force: true })

const first = samples[0]?.rss ?? 0
const peak = Math.max(...samples.map((s) => s.rss))
const end = samples.at(-1)?.rss ?? 0
// The baseline is the RSS after the first minute (warm caches), or after a sixth of a short run.
const warmAt = Math.min(60, SECONDS / 6)
const warm = samples.find((s) => s.t >= warmAt)?.rss ?? first
const flat = end <= warm * 1.15
const total = Object.values(counts).reduce((a, b) => a + b, 0)
const errors5xx = Object.values(serverErrors).reduce((a, b) => a + b, 0)

console.log('')
console.log(`duration          ${SECONDS} s, ${total} requests (${(total / SECONDS).toFixed(0)}/s)`)
for (const [kind, n] of Object.entries(counts)) {
  const answers = Object.entries(statuses[kind] ?? {})
    .map(([code, k]) => `${k}× ${code}`)
    .join(', ')
  console.log(`  ${kind.padEnd(16)}${n} (${answers}; ${serverErrors[kind] ?? 0} 5xx)`)
}
console.log(`5xx responses     ${errors5xx}`)
console.log(`failed requests   ${failures} (connection errors)`)
console.log(
  `server RSS        start ${first.toFixed(1)} MB, after ${warmAt.toFixed(0)} s ${warm.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, end ${end.toFixed(1)} MB`,
)
console.log(
  `memory flat       ${flat ? 'yes' : 'NO'} (end within 15% of the RSS after ${warmAt.toFixed(0)} s: ${((end / warm - 1) * 100).toFixed(1)}%)`,
)
console.log(`server exit code  ${exitCode} (SIGTERM)`)
process.exitCode = errors5xx === 0 && failures === 0 && flat && exitCode === 0 ? 0 : 1
