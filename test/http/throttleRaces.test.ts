// The login and API-key throttles under concurrent attempts from one address, over a real socket:
// an attempt is counted before the answer is awaited, so a burst gets no more than the allowance.
import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import { recentAudit } from '../../src/domain/audit.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

// Every login hashes a password, and a burst of them shares two cores with the rest of the run.
setDefaultTimeout(30_000)

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
afterEach(async () => {
  await server.stop()
  await t.core.callLog.flush()
  t.close()
})

/** How many answers had each status, e.g. `{ 401: 5, 429: 195 }`. */
function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1
  return counts
}

describe('concurrent attempts from one address', () => {
  test('200 wrong passwords at once: exactly MIDA_LOGIN_ATTEMPTS (5) are checked, the rest 429', async () => {
    t = await createTestApp()
    await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
    server = listen(t.app)
    const page = await fetch(`${server.url}/login`)
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!
    const attempt = async (password: string) => {
      const res = await fetch(`${server.url}/login`, {
        method: 'POST',
        headers: { cookie },
        body: new URLSearchParams({ _csrf: csrf, email: 'me@shop.example', password }),
        redirect: 'manual',
      })
      await res.arrayBuffer()
      return res.status
    }
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => attempt(`wrong ${i}`)))
    expect(tally(statuses)).toEqual({ 401: 5, 429: 195 })
    const failed = (await recentAudit(t.data, t.store)).filter((e) => e.action === 'login.failed')
    expect(failed).toHaveLength(5)
    // The right password waits out the window like any other attempt.
    expect(await attempt('a good password')).toBe(429)
    t.clock.advance({ minutes: 15 })
    expect(await attempt('a good password')).toBe(303)
  })

  test('a success forgets the address: its next wrong passwords have the whole allowance', async () => {
    t = await createTestApp({ env: { MIDA_LOGIN_ATTEMPTS: '3/15m' } })
    await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
    server = listen(t.app)
    const page = await fetch(`${server.url}/login`)
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!
    const attempt = async (password: string) => {
      const res = await fetch(`${server.url}/login`, {
        method: 'POST',
        headers: { cookie },
        body: new URLSearchParams({ _csrf: csrf, email: 'me@shop.example', password }),
        redirect: 'manual',
      })
      await res.arrayBuffer()
      return res.status
    }
    expect(await attempt('wrong')).toBe(401)
    expect(await attempt('wrong')).toBe(401)
    expect(await attempt('a good password')).toBe(303)
    const burst = await Promise.all(Array.from({ length: 10 }, () => attempt('wrong')))
    expect(tally(burst)).toEqual({ 401: 3, 429: 7 })
  })

  test('100 bad API keys at once (sync and import): exactly MIDA_KEY_ATTEMPTS (10) are 401, the rest 429', async () => {
    t = await createTestApp({ settings: { api_enabled: true } })
    const good = (await createApiKey(t.data, t.store, 'good', 'export', t.clock)).secret
    server = listen(t.app)
    const call = async (i: number, key = `mida_sk_wrong${i}`) => {
      const res = await fetch(
        `${server.url}${i % 2 ? '/apiv1/analytics/sync' : '/apiv1/import/sessions'}`,
        { method: 'POST', headers: { 'x-mida-secret-key': key }, body: i % 2 ? undefined : '' },
      )
      await res.arrayBuffer()
      return res.status
    }
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => call(i)))
    expect(tally(statuses)).toEqual({ 401: 10, 429: 90 })
    expect(await call(1, good)).toBe(429)
  })
})
