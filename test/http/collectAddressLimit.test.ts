// The tracker's per-address limit (MIDA_COLLECT_IP_RATE), over a real socket: the visitor id is the
// client's choice, the address is not, so one address cannot flood the tracker under many ids.
import { afterEach, describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

let t: TestApp
let server: { url: string; stop: () => Promise<void> }

async function start(env: Record<string, string>) {
  t = await createTestApp({ env, now: '2026-11-25T15:00:00Z' })
  server = listen(t.app)
}

/** Posts one pageview of `visitor`, with the X-Forwarded-For header given (if any). */
async function pageview(visitor: string, forwardedFor?: string) {
  const res = await fetch(`${server.url}/apiv1/collect`, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain;charset=UTF-8',
      'user-agent': DESKTOP,
      origin: 'https://shop.example',
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
    },
    body: JSON.stringify({
      store: t.store.trackingId,
      visitor,
      event: 'pageview',
      url: 'https://shop.example/',
    }),
  })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() }
}

const counted = async () =>
  (await t.data.get<{ n: number }>('SELECT COALESCE(SUM(pageviews), 0) AS n FROM sessions'))?.n

describe('MIDA_COLLECT_IP_RATE', () => {
  test('600 events a minute by default; N or N/WINDOW, validated like MIDA_COLLECT_RATE', () => {
    const rate = (value?: string) =>
      loadConfig({ env: value ? { MIDA_COLLECT_IP_RATE: value } : {}, cwd: '/nonexistent' })
        .collectIpRate
    expect(rate()).toEqual({ max: 600, windowMs: 60_000 })
    expect(rate('1000')).toEqual({ max: 1000, windowMs: 60_000 })
    expect(rate('30/30s')).toEqual({ max: 30, windowMs: 30_000 })
    for (const bad of ['0', 'ten', '5/15x', '5/0m', '-1']) {
      expect(() => rate(bad)).toThrow(
        new ConfigError(
          `Invalid MIDA_COLLECT_IP_RATE: expected a count, optionally per window, such as 600 or 600/1m (s, m or h), got ${JSON.stringify(bad)}`,
        ),
      )
    }
  })
})

describe('events per client address', () => {
  afterEach(async () => {
    await server.stop()
    t.close()
  })

  test('a new visitor id per event does not get past it: 429 with Retry-After, then the window ends', async () => {
    await start({ MIDA_COLLECT_IP_RATE: '5/1m' })
    const first = await Promise.all([1, 2, 3, 4, 5].map((i) => pageview(`visitor-000${i}`)))
    expect(first.map((r) => r.status)).toEqual([204, 204, 204, 204, 204])
    const refused = await pageview('visitor-0006')
    expect(refused).toEqual({
      status: 429,
      retryAfter: '60',
      body: JSON.stringify({ success: false, error: 'Too many events from this address' }),
    })
    t.clock.advance({ seconds: 45 })
    expect((await pageview('visitor-0007')).retryAfter).toBe('15')
    t.clock.advance({ seconds: 15 })
    expect((await pageview('visitor-0008')).status).toBe(204)
    expect(await counted()).toBe(6)
  })

  test('behind a proxy, the address it appended counts, not the entries a client sends', async () => {
    await start({ MIDA_COLLECT_IP_RATE: '3/1m', MIDA_TRUST_PROXY: 'true' })
    const statuses: number[] = []
    for (let i = 1; i <= 5; i++) {
      statuses.push((await pageview(`visitor-000${i}`, `203.0.113.${i}, 198.51.100.7`)).status)
    }
    expect(statuses).toEqual([204, 204, 204, 429, 429])
    // Other shoppers behind the same proxy, each with their own allowance.
    expect((await pageview('visitor-1001', '198.51.100.8')).status).toBe(204)
    expect((await pageview('visitor-1002', '2001:db8::8')).status).toBe(204)
    expect(await counted()).toBe(5)
  })

  test('the per-visitor limit still holds under it', async () => {
    await start({ MIDA_COLLECT_RATE: '2/1m' })
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await pageview('visitor-0001')).status)
    expect(statuses).toEqual([204, 204, 429])
    expect((await pageview('visitor-0002')).status).toBe(204)
  })
})
