import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

// A flood of refused requests (429 of a throttle) is one log row per address and throttle window,
// with a count, over a real server: the call log and the audit log cannot be grown without bound.

const A = '198.51.100.7'
const B = '203.0.113.9'
const BAD_KEY = 'mida_sk_0000000000000000000000000000000000000000000'

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
let adminCookie: string

beforeEach(async () => {
  // One trusted proxy: the address is the X-Forwarded-For entry the proxy appended.
  t = await createTestApp({ env: { MIDA_TRUST_PROXY: 'true' } })
  server = listen(t.app)
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  adminCookie = `mida_session=${(await startSession(t.data, admin.id, t.clock)).token}`
})
afterEach(async () => {
  await server.stop()
  t.close()
})

/** `n` requests made by `one`, 50 at a time; returns the statuses seen, counted. */
async function repeat(n: number, one: () => Promise<Response>): Promise<Record<number, number>> {
  const seen: Record<number, number> = {}
  for (let done = 0; done < n; done += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - done) }, async () => {
        const res = await one()
        await res.arrayBuffer()
        return res.status
      }),
    )
    for (const status of batch) seen[status] = (seen[status] ?? 0) + 1
  }
  return seen
}

/** The settings page fragment at `path`, as the logged-in admin sees it. */
async function fragment(path: string): Promise<string> {
  const res = await fetch(server.url + path, {
    headers: { cookie: adminCookie, 'hx-request': 'true' },
  })
  expect(res.status).toBe(200)
  return res.text()
}

describe('refused sync calls', () => {
  const sync = (from: string) => () =>
    fetch(`${server.url}/apiv1/analytics/sync`, {
      method: 'POST',
      headers: { 'x-forwarded-for': from, 'x-mida-secret-key': BAD_KEY },
    })

  const rows = async () => {
    await t.core.callLog.flush()
    return await t.data.all<{ at: number; address: string; status: number; count: number }>(
      'SELECT at, address, status, count FROM sync_requests ORDER BY id',
    )
  }

  test('1 000 refused calls from one address are one row ×1000; two addresses, two rows', async () => {
    const start = t.clock.now().epochMilliseconds
    expect(await repeat(10, sync(A))).toEqual({ 401: 10 })
    expect(await repeat(10, sync(B))).toEqual({ 401: 10 })
    // Both addresses flood at once: their refusals interleave.
    const [a, b] = await Promise.all([repeat(1000, sync(A)), repeat(7, sync(B))])
    expect(a).toEqual({ 429: 1000 })
    expect(b).toEqual({ 429: 7 })
    const refused = (await rows()).filter((r) => r.status === 429)
    expect(refused.sort((x, y) => x.address.localeCompare(y.address))).toEqual([
      { at: start, address: A, status: 429, count: 1000 },
      { at: start, address: B, status: 429, count: 7 },
    ])
    expect((await rows()).filter((r) => r.status === 401)).toHaveLength(20)
    expect((await rows()).every((r) => r.status === 429 || r.count === 1)).toBe(true)

    // The settings page shows the count after the status.
    const log = await fragment('/settings/sync-log')
    expect(log).toContain(
      '<span class="status status-failed">429</span><small class="muted" title="1000 times in a row from this address"> ×1000</small>',
    )
    expect(log).toContain('> ×7</small>')
  })

  test('a refusal after the throttle window is a new row; counts already written keep growing', async () => {
    const start = t.clock.now().epochMilliseconds
    await repeat(10, sync(A))
    expect(await repeat(3, sync(A))).toEqual({ 429: 3 })
    await t.core.callLog.flush()
    // Written, then counted on in the same row.
    expect(await repeat(2, sync(A))).toEqual({ 429: 2 })
    expect((await rows()).filter((r) => r.status === 429)).toEqual([
      { at: start, address: A, status: 429, count: 5 },
    ])
    // The window (15 minutes) ends: failures again, then a new window of refusals.
    t.clock.advance({ minutes: 15 })
    expect(await repeat(10, sync(A))).toEqual({ 401: 10 })
    expect(await repeat(4, sync(A))).toEqual({ 429: 4 })
    expect((await rows()).filter((r) => r.status === 429)).toEqual([
      { at: start, address: A, status: 429, count: 5 },
      { at: start + 15 * 60_000, address: A, status: 429, count: 4 },
    ])
    expect(await rows()).toHaveLength(10 + 1 + 10 + 1)
  })
})

describe('refused logins', () => {
  const login =
    (from: string, password = 'wrong password') =>
    () =>
      fetch(`${server.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'x-forwarded-for': from,
          cookie: 'mida_login_csrf=form-token',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ _csrf: 'form-token', email: 'me@shop.example', password }),
      })

  const audit = () =>
    t.data.all<{ at: number; address: string; action: string; count: number }>(
      'SELECT at, address, action, count FROM audit_log ORDER BY id',
    )

  test('1 000 throttled logins are one audit row ×1000; two addresses, two rows; a new window, a new row', async () => {
    const start = t.clock.now().epochMilliseconds
    const row = (address: string, action: string, count = 1, at = start) => ({
      at,
      address,
      action,
      count,
    })
    expect(await repeat(5, login(A))).toEqual({ 401: 5 })
    expect(await repeat(5, login(B))).toEqual({ 401: 5 })
    const [a, b] = await Promise.all([repeat(1000, login(A)), repeat(3, login(B))])
    expect(a).toEqual({ 429: 1000 })
    expect(b).toEqual({ 429: 3 })
    const failed = (address: string) => Array(5).fill(row(address, 'login.failed'))
    const sorted = (entries: Awaited<ReturnType<typeof audit>>) =>
      entries.sort((x, y) => x.address.localeCompare(y.address) || x.action.localeCompare(y.action))
    expect(sorted(await audit())).toEqual(
      sorted([
        ...failed(A),
        row(A, 'login.throttled', 1000),
        ...failed(B),
        row(B, 'login.throttled', 3),
      ]),
    )
    const page = await fragment('/settings/audit')
    expect(page).toContain(
      '<td data-label="What">Login refused: too many failures<small class="muted" title="1000 times in a row from this address"> ×1000</small></td>',
    )
    expect(page).toContain('<td data-label="What">Failed login</td>')

    // After the 15-minute window: failures again, then a new row for the new window.
    t.clock.advance({ minutes: 15 })
    const later = start + 15 * 60_000
    expect(await repeat(5, login(A))).toEqual({ 401: 5 })
    expect(await repeat(2, login(A))).toEqual({ 429: 2 })
    expect((await audit()).slice(-6)).toEqual([
      ...Array(5).fill(row(A, 'login.failed', 1, later)),
      row(A, 'login.throttled', 2, later),
    ])
    expect(await audit()).toHaveLength(5 + 1 + 5 + 1 + 5 + 1)
  })
})
