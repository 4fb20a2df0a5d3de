// /apiv1/collect under load (wrk, 50 connections), with Shopify webhooks timed alongside it.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signShopifyBody } from '../src/domain/webhooks.ts'
import { OUT, report, sampleRss } from './lib.ts'
import { benchStore } from './sync.ts'

const ROOT = join(import.meta.dir, '..')
const DURATION = process.env.BENCH_DURATION ?? '10s'
const SECRET = 'bench-webhook-secret'

const { db } = benchStore(1_000_000)
db.close()
const dataDir = join(OUT, 'store-1000000')
const cli = (...args: string[]) =>
  Bun.spawnSync([process.execPath, 'src/main.ts', ...args, '--data-dir', dataDir], { cwd: ROOT })
cli('settings', 'set', `shopify_webhook_secret=${SECRET}`, 'allowed_origins=')
const trackingId = JSON.parse(cli('settings', '--json').stdout.toString()).tracking_id as string

const port = 18082
const server = Bun.spawn(
  [process.execPath, 'src/main.ts', 'serve', '--port', String(port), '--data-dir', dataDir],
  { cwd: ROOT, stdout: 'ignore', stderr: 'ignore' },
)
process.on('exit', () => server.kill())
const base = `http://127.0.0.1:${port}`
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break
  } catch {}
  if (i > 200) throw new Error('server did not start')
  await Bun.sleep(25)
}

const script = join(OUT, 'collect.lua')
writeFileSync(
  script,
  `
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
wrk.headers["Origin"] = "https://shop.example"
local paths = { "/", "/products/a", "/collections/all", "/cart" }
request = function()
  local v = string.format("bench%08d", math.random(1, 200000))
  local body = '{"store":"${trackingId}","visitor":"' .. v .. '","event":"pageview","url":"https://shop.example' .. paths[math.random(1, 4)] .. '","referrer":""}'
  return wrk.format(nil, "/apiv1/collect", nil, body)
end
`,
)

// Webhooks, one every 50 ms, timed one by one while wrk loads collect.
const webhookTimes: number[] = []
let webhookErrors = 0
let stopWebhooks = false
const webhooks = (async () => {
  for (let i = 0; !stopWebhooks; i++) {
    const body = JSON.stringify({
      id: 9_000_000 + i,
      name: `#B${i}`,
      created_at: '2026-11-25T12:00:00Z',
      updated_at: '2026-11-25T12:00:00Z',
      total_price: '42.00',
      financial_status: 'paid',
    })
    const t = performance.now()
    const res = await fetch(`${base}/apiv1/webhooks/shopify/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-webhook-id': `bench-${Date.now()}-${i}`,
        'x-shopify-hmac-sha256': signShopifyBody(body, SECRET),
      },
      body,
    })
    await res.arrayBuffer()
    webhookTimes.push(performance.now() - t)
    if (res.status !== 200) webhookErrors++
    await Bun.sleep(50)
  }
})()

const rss = sampleRss(server.pid)
const wrkProc = Bun.spawn(
  ['wrk', '-t2', '-c50', `-d${DURATION}`, '--latency', '-s', script, base],
  {
    stdout: 'pipe',
  },
)
const out = await new Response(wrkProc.stdout).text()
await wrkProc.exited
stopWebhooks = true
await webhooks

// A realistic mix next: each visit is 5 events of one visitor, visits following one another.
const visits = join(OUT, 'collect-visits.lua')
writeFileSync(
  visits,
  readFileSync(script, 'utf8').replace(
    /local v = string\.format\("bench%08d", math\.random\(1, 200000\)\)/,
    'counter = (counter or 0) + 1\n  prefix = prefix or string.format("%06d", math.random(0, 999999))\n  local v = string.format("visit%s%09d", prefix, math.floor(counter / 5))',
  ),
)
const visitsProc = Bun.spawn(
  ['wrk', '-t2', '-c50', `-d${DURATION}`, '--latency', '-s', visits, base],
  {
    stdout: 'pipe',
  },
)
const visitsOut = await new Response(visitsProc.stdout).text()
await visitsProc.exited
const peak = rss.stop()
server.kill('SIGTERM')
await server.exited

const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
const p99m = /99%\s+([\d.]+)(us|ms|s)/.exec(out)
const p99 = p99m
  ? Number(p99m[1]) * (p99m[2] === 'us' ? 0.001 : p99m[2] === 's' ? 1000 : 1)
  : Number.NaN
const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
const sorted = [...webhookTimes].sort((a, b) => a - b)
const whP99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN

report(
  'collect, uniformly random visitors (worst case)',
  `${Math.round(rps)} events/s`,
  '>= 20000 events/s',
  rps >= 20_000,
)
report('collect p99 latency (50 connections)', `${p99.toFixed(2)} ms`, '<= 20 ms', p99 <= 20)
report('collect errors (non-2xx)', String(non2xx), '0', non2xx === 0)
report(
  `webhook p99 while collect is loaded (${sorted.length} calls)`,
  `${whP99.toFixed(2)} ms`,
  '<= 50 ms',
  whP99 <= 50 && webhookErrors === 0,
)
const visitsRps = Number(/Requests\/sec:\s+([\d.]+)/.exec(visitsOut)?.[1])
const visitsP99m = /99%\s+([\d.]+)(us|ms|s)/.exec(visitsOut)
const visitsP99 = visitsP99m
  ? Number(visitsP99m[1]) * (visitsP99m[2] === 'us' ? 0.001 : visitsP99m[2] === 's' ? 1000 : 1)
  : Number.NaN
const visitsErrors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(visitsOut)?.[1] ?? 0)
report(
  'collect, visits of 5 events (realistic mix)',
  `${Math.round(visitsRps)} events/s`,
  '>= 20000 events/s',
  visitsRps >= 20_000,
)
report(
  'collect p99, visits of 5 events',
  `${visitsP99.toFixed(2)} ms`,
  '<= 20 ms',
  visitsP99 <= 20 && visitsErrors === 0,
)
report('server peak RSS under collect load', `${peak.toFixed(0)} MB`, '<= 200 MB', peak <= 200)
