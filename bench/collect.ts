// /apiv1/collect under load (wrk, 50 connections), with Shopify webhooks timed alongside it.
// Each workload runs on a server of its own (same store), so neither inherits the other's state.
import { join } from 'node:path'
import { signShopifyBody } from '../src/domain/webhooks.ts'
import { COLLECT_MIXES, collectScript, OUT, report, sampleRss } from './lib.ts'
import { benchStore } from './sync.ts'

const ROOT = join(import.meta.dir, '..')
const DURATION = process.env.BENCH_DURATION ?? '10s'
const SECRET = 'bench-webhook-secret'
const PORT = 18082

const { db } = await benchStore(1_000_000)
db.close()
const dataDir = join(OUT, 'store-1000000')
const cli = (...args: string[]) =>
  Bun.spawnSync([process.execPath, 'src/main.ts', ...args, '--data-dir', dataDir], { cwd: ROOT })
cli('settings', 'set', `shopify_webhook_secret=${SECRET}`, 'allowed_origins=')
const trackingId = JSON.parse(cli('settings', '--json').stdout.toString()).tracking_id as string
const base = `http://127.0.0.1:${PORT}`

const uniform = collectScript('collect-uniform', trackingId, COLLECT_MIXES.uniform)
const visits = collectScript('collect-visits', trackingId, COLLECT_MIXES.visits)

const ms = (m: RegExpExecArray | null) =>
  m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : Number.NaN

/** Starts a server, runs wrk with the script (and webhooks if asked), stops the server. */
async function workload(script: string, withWebhooks: boolean) {
  const server = Bun.spawn(
    [process.execPath, 'src/main.ts', 'serve', '--port', String(PORT), '--data-dir', dataDir],
    {
      cwd: ROOT,
      stdout: 'ignore',
      stderr: 'ignore',
      // wrk sends every event from 127.0.0.1, standing in for many shoppers' addresses: the
      // per-address limit (600 a minute by default) is lifted; it still runs on each event.
      env: { ...process.env, MIDA_COLLECT_IP_RATE: '9999999/1s' },
    },
  )
  const kill = () => server.kill()
  process.on('exit', kill)
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break
    } catch {}
    if (i > 200) throw new Error('server did not start')
    await Bun.sleep(25)
  }
  const rss = sampleRss(server.pid)
  // Webhooks, one every 50 ms, timed one by one while wrk loads collect.
  const webhookTimes: number[] = []
  let webhookErrors = 0
  let stop = false
  const webhooks = (async () => {
    for (let i = 0; withWebhooks && !stop; i++) {
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
  const wrk = Bun.spawn(['wrk', '-t2', '-c50', `-d${DURATION}`, '--latency', '-s', script, base], {
    stdout: 'pipe',
  })
  const out = await new Response(wrk.stdout).text()
  await wrk.exited
  stop = true
  await webhooks
  const peak = rss.stop()
  server.kill('SIGTERM')
  await server.exited
  process.off('exit', kill)
  const sorted = [...webhookTimes].sort((a, b) => a - b)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p99: ms(/99%\s+([\d.]+)(us|ms|s)/.exec(out)),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    webhookP99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN,
    webhookCalls: sorted.length,
    webhookErrors,
    peak,
  }
}

const realistic = await workload(visits, false)
const worst = await workload(uniform, true)

report(
  'collect, visits of 5 events (realistic mix)',
  `${Math.round(realistic.rps)} events/s`,
  '>= 20000 events/s',
  realistic.rps >= 20_000,
)
report(
  'collect p99, visits of 5 events',
  `${realistic.p99.toFixed(2)} ms`,
  '<= 20 ms',
  realistic.p99 <= 20,
)
report(
  'collect, uniformly random visitors (worst case)',
  `${Math.round(worst.rps)} events/s`,
  '>= 20000 events/s',
  worst.rps >= 20_000,
)
report(
  'collect p99, uniformly random visitors',
  `${worst.p99.toFixed(2)} ms`,
  '<= 20 ms',
  worst.p99 <= 20,
)
report(
  'collect errors (non-2xx), both runs',
  String(realistic.errors + worst.errors),
  '0',
  realistic.errors + worst.errors === 0,
)
report(
  `webhook p99 while collect is loaded (${worst.webhookCalls} calls)`,
  `${worst.webhookP99.toFixed(2)} ms`,
  '<= 50 ms',
  worst.webhookP99 <= 50 && worst.webhookErrors === 0,
)
const peak = Math.max(realistic.peak, worst.peak)
report('server peak RSS under collect load', `${peak.toFixed(0)} MB`, '<= 200 MB', peak <= 200)
