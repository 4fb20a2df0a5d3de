// Keys that expire and keys regenerated with a grace period, over real HTTP with an injected
// clock: each answers exactly as long as it should, to the millisecond, cached or not.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { InvalidInput } from '../../src/domain/errors.ts'
import {
  createApiKey,
  listApiKeys,
  parseExpiry,
  parseGrace,
  regenerateApiKey,
  revokeApiKey,
} from '../../src/domain/keys.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York.
const NOW = '2026-11-26T06:00:00Z'
const NY = 'America/New_York'
const HOUR = 3_600_000
const DAY = 24 * HOUR

let t: TestApp
let server: { url: string; stop: () => Promise<void> }

beforeEach(async () => {
  t = await createTestApp({
    now: NOW,
    settings: { timezone: NY, currency: 'USD', api_enabled: 'true' },
  })
  server = listen(t.app)
})

afterEach(async () => {
  await server.stop()
  t.close()
})

/** The sync API's status for this key, at the clock's instant. */
async function status(key: string): Promise<number> {
  const res = await fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'x-mida-secret-key': key },
  })
  await res.arrayBuffer()
  return res.status
}

const at = (ms: number) => t.clock.set(Temporal.Instant.fromEpochMilliseconds(ms))
const now = () => t.clock.now().epochMilliseconds

describe('expiry', () => {
  test('a key with --expires answers at expires_at − 1 ms and gets 401 at expires_at, cached or not', async () => {
    const expiresAt = parseExpiry('30d', now(), NY)
    expect(expiresAt).toBe(Date.parse(NOW) + 30 * DAY)
    const cached = await createApiKey(t.data, t.store, 'cached', 'export', t.clock, undefined, {
      expiresAt,
    })
    const fresh = await createApiKey(t.data, t.store, 'fresh', 'export', t.clock, undefined, {
      expiresAt,
    })
    // `cached` is looked up now, so the read cache holds it from here on.
    expect(await status(cached.secret)).toBe(200)
    at(expiresAt - 1)
    expect(await status(cached.secret)).toBe(200)
    at(expiresAt)
    expect(await status(cached.secret)).toBe(401)
    // A key first presented at its expiry is no better.
    expect(await status(fresh.secret)).toBe(401)
    at(expiresAt + DAY)
    expect(await status(cached.secret)).toBe(401)
  })

  test('--expires YYYY-MM-DD is the start of that day in the store time zone (New York, DST days too)', async () => {
    const cases: [date: string, instant: string][] = [
      ['2026-12-01', '2026-12-01T05:00:00Z'], // EST, UTC−5
      ['2027-03-14', '2027-03-14T05:00:00Z'], // clocks go forward at 02:00 that day: midnight is EST
      ['2027-03-15', '2027-03-15T04:00:00Z'], // the first whole EDT day, UTC−4
      ['2027-11-07', '2027-11-07T04:00:00Z'], // clocks go back at 02:00 that day: midnight is EDT
      ['2027-11-08', '2027-11-08T05:00:00Z'],
    ]
    for (const [date, instant] of cases) {
      expect([date, new Date(parseExpiry(date, now(), NY)).toISOString()]).toEqual([
        date,
        instant.replace('Z', '.000Z'),
      ])
    }
    // Over HTTP: the key made to expire on the day after DST began answers through the day
    // before, and stops at its first instant.
    const expiresAt = parseExpiry('2027-03-15', now(), NY)
    const key = await createApiKey(t.data, t.store, 'spring', 'export', t.clock, undefined, {
      expiresAt,
    })
    at(Date.parse('2027-03-15T03:59:59.999Z'))
    expect(await status(key.secret)).toBe(200)
    at(Date.parse('2027-03-15T04:00:00Z'))
    expect(await status(key.secret)).toBe(401)
  })

  test('parse errors name the problem', () => {
    const n = Date.parse(NOW)
    const cases: [text: string, message: string][] = [
      [
        'soon',
        'expires must be a duration such as 90d, 12h or 2w, or a date YYYY-MM-DD, got "soon"',
      ],
      ['2027-02-30', 'expires: 2027-02-30 is not a calendar date'],
      ['2026-11-26', 'expires: 2026-11-26 is not in the future'],
      ['0', 'expires: 0 is not in the future'],
      ['4000d', 'expires: at most ten years ahead'],
    ]
    for (const [text, message] of cases) {
      expect(() => parseExpiry(text, n, NY)).toThrow(new InvalidInput(message))
    }
    expect(() => parseGrace('forever')).toThrow(
      new InvalidInput('grace must be a duration such as 24h, 30m or 2d (or 0), got "forever"'),
    )
    expect(() => parseGrace('31d')).toThrow(new InvalidInput('grace: at most 30 days'))
    expect([parseGrace('0'), parseGrace('90m'), parseGrace('24h'), parseGrace('1w')]).toEqual([
      0,
      90 * 60_000,
      DAY,
      7 * DAY,
    ])
  })
})

describe('grace', () => {
  test('regenerate with a grace period: the old key answers until it ends, then 401; the new key at once', async () => {
    const old = await createApiKey(t.data, t.store, 'looker', 'export', t.clock)
    expect(await status(old.secret)).toBe(200) // cached from here on
    const start = now()
    const fresh = await regenerateApiKey(t.data, t.store, String(old.key.id), t.clock, undefined, {
      graceMs: parseGrace('24h'),
    })
    expect(await status(fresh.secret)).toBe(200)
    expect(await status(old.secret)).toBe(200)
    at(start + DAY - 1)
    expect(await status(old.secret)).toBe(200)
    at(start + DAY)
    expect(await status(old.secret)).toBe(401)
    expect(await status(fresh.secret)).toBe(200)
    const keys = await listApiKeys(t.data, t.store)
    expect(keys.map((k) => [k.name, k.revokedAt])).toEqual([
      ['looker', null],
      ['looker', start + DAY],
    ])
  })

  test('without a grace period the old key stops at once', async () => {
    const old = await createApiKey(t.data, t.store, 'looker', 'export', t.clock)
    expect(await status(old.secret)).toBe(200)
    const fresh = await regenerateApiKey(t.data, t.store, 'looker', t.clock)
    expect(await status(old.secret)).toBe(401)
    expect(await status(fresh.secret)).toBe(200)
  })

  test('revoking the old key during its grace period ends the grace at once', async () => {
    const old = await createApiKey(t.data, t.store, 'looker', 'export', t.clock)
    const fresh = await regenerateApiKey(t.data, t.store, 'looker', t.clock, undefined, {
      graceMs: 7 * DAY,
    })
    t.clock.advance({ hours: 1 })
    expect(await status(old.secret)).toBe(200)
    const revoked = await revokeApiKey(t.data, t.store, String(old.key.id), t.clock)
    expect(revoked.revokedAt).toBe(now())
    expect(await status(old.secret)).toBe(401)
    expect(await status(fresh.secret)).toBe(200)
    // Revoked for good now: a second revoke says so.
    await expect(revokeApiKey(t.data, t.store, String(old.key.id), t.clock)).rejects.toThrow(
      `Key ${old.key.id} (looker) is already revoked`,
    )
  })

  test('regenerating a key that expires gives the new key the same lifetime, from now', async () => {
    const created = now()
    const old = await createApiKey(t.data, t.store, 'sheet', 'export', t.clock, undefined, {
      expiresAt: parseExpiry('30d', created, NY),
    })
    t.clock.advance({ hours: 24 * 10 })
    const regenerated = now()
    const fresh = await regenerateApiKey(t.data, t.store, 'sheet', t.clock, undefined, {
      graceMs: HOUR,
    })
    expect(fresh.key.expiresAt).toBe(regenerated + 30 * DAY)
    // The old key keeps its own expiry and its hour of grace.
    at(regenerated + HOUR - 1)
    expect(await status(old.secret)).toBe(200)
    at(regenerated + HOUR)
    expect(await status(old.secret)).toBe(401)
    at(regenerated + 30 * DAY - 1)
    expect(await status(fresh.secret)).toBe(200)
    at(regenerated + 30 * DAY)
    expect(await status(fresh.secret)).toBe(401)
  })
})
