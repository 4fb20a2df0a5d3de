import { afterEach, describe, expect, test } from 'bun:test'
import { loadConfig } from '../src/config.ts'
import { type Core, closeCore, openCore } from '../src/core.ts'
import { openDatabase } from '../src/db/database.ts'
import { openData } from '../src/db/open.ts'
import { FixedClock } from '../src/domain/clock.ts'
import { recordEvents } from '../src/domain/collect.ts'
import { isSealed, SEALED_PREFIX } from '../src/domain/secrets.ts'
import { readSettings, updateSettings } from '../src/domain/settings.ts'
import { ensureDefaultStore, type Store } from '../src/domain/stores.ts'
import { runCli } from '../src/main.ts'
import { captureIo, engineEnv, tempDir } from './utils.ts'

const KEY = 'a-long-random-secret-key-0123456789'
const clock = new FixedClock('2026-11-26T06:00:00Z')
const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A core on a fresh data dir (and database), closed and removed after the test. */
async function core(env: Record<string, string> = {}): Promise<Core & { store: Store }> {
  const { dir, cleanup } = tempDir('mida-core-')
  cleanups.push(cleanup)
  const opened = await openCore({
    config: loadConfig({ env: { MIDA_DATA_DIR: dir, ...(await engineEnv()), ...env }, cwd: dir }),
    clock,
  })
  cleanups.push(() => closeCore(opened))
  return Object.assign(opened, { store: await ensureDefaultStore(opened.data, clock) })
}

/** The value stored for a setting, as it is in the database. */
const stored = async (c: Core & { store: Store }, key: string) =>
  (
    (await c.data.get<{ value: string }>(
      'SELECT value FROM store_settings WHERE store_id = ? AND key = ?',
      c.store.id,
      key,
    )) as { value: string }
  ).value

/** The database of `env` (a data dir, and a URL on PostgreSQL runs) opened without the key. */
const openWithoutKey = (env: Record<string, string>) =>
  openData({
    dataDir: env.MIDA_DATA_DIR ?? '',
    databaseUrl: env.MIDA_DATABASE_URL,
    secretKey: undefined,
  })

describe('two cores in one process share nothing', () => {
  test('each has its own read cache: a setting cached by one is not what the other reads', async () => {
    const a = await core()
    const b = await core()
    expect(a.data.cache).not.toBe(b.data.cache)
    await updateSettings(a.data, a.store, { timezone: 'Europe/Berlin' }, clock)
    await updateSettings(b.data, b.store, { timezone: 'Asia/Tokyo' }, clock)
    expect((await readSettings(a.data, a.store)).timezone).toBe('Europe/Berlin')
    expect((await readSettings(b.data, b.store)).timezone).toBe('Asia/Tokyo')
    // What a's cache holds (load answers from it without reading; peek on PostgreSQL answers
    // only once this turn's change check is in).
    const cachedTimezone = async () =>
      (
        await a.data.cache.load<{ timezone: string } | null>(
          `settings:${a.store.id}`,
          async () => null,
        )
      )?.timezone
    expect(await cachedTimezone()).toBe('Europe/Berlin')
    b.data.cache.invalidate()
    expect(await cachedTimezone()).toBe('Europe/Berlin')
  })

  test('each has its own secret key: one seals, the other (no key) stores as is', async () => {
    const sealing = await core({ MIDA_SECRET_KEY: KEY })
    const plain = await core()
    await updateSettings(sealing.data, sealing.store, { smtp_password: 'pw-one' }, clock)
    await updateSettings(plain.data, plain.store, { smtp_password: 'pw-two' }, clock)
    expect((await stored(sealing, 'smtp_password')).startsWith(SEALED_PREFIX)).toBe(true)
    expect(await stored(plain, 'smtp_password')).toBe('pw-two')
    expect((await readSettings(sealing.data, sealing.store)).smtp_password).toBe('pw-one')
  })

  test("each has its own call-log buffer: one's flush writes none of the other's lines", async () => {
    const a = await core()
    const b = await core()
    const entry = {
      storeId: a.store.id,
      at: clock.now().epochMilliseconds,
      keyId: null,
      address: '10.0.0.1',
      status: 401,
      durationMs: 1,
      error: 'Invalid API key',
    }
    a.callLog.add(entry)
    const count = async (c: Core) =>
      (await c.data.get<{ n: number }>('SELECT count(*) AS n FROM sync_requests'))?.n
    await b.callLog.flush()
    expect([await count(a), await count(b)]).toEqual([0, 0])
    await a.callLog.flush()
    expect([await count(a), await count(b)]).toEqual([1, 0])
  })

  test('closing writes the call-log lines still waiting in memory', async () => {
    const { dir, cleanup } = tempDir('mida-core-')
    cleanups.push(cleanup)
    const env = { MIDA_DATA_DIR: dir, ...(await engineEnv()) }
    const config = loadConfig({ env, cwd: dir })
    const c = await openCore({ config, clock })
    c.callLog.add({
      storeId: (await ensureDefaultStore(c.data, clock)).id,
      at: clock.now().epochMilliseconds,
      keyId: null,
      address: '10.0.0.9',
      status: 401,
      durationMs: 1,
      error: 'Invalid API key',
    })
    await closeCore(c)
    const data = await openWithoutKey(env)
    try {
      expect(await data.all('SELECT address, status FROM sync_requests')).toEqual([
        { address: '10.0.0.9', status: 401 },
      ])
    } finally {
      await data.close()
    }
  })

  test("each has its own open sessions: one's visitor is new to the other", async () => {
    const a = await core()
    const b = await core()
    expect(a.openSessions).not.toBe(b.openSessions)
    const event = (c: Core & { store: Store }, at: string) => ({
      storeId: c.store.id,
      visitorId: 'visitor-1',
      name: 'pageview' as const,
      url: 'https://shop.example/',
      referrer: '',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0',
      at: Date.parse(at),
    })
    const record = (c: Core & { store: Store }, at: string) =>
      recordEvents(c.data, c.openSessions, [event(c, at)], clock)
    expect(await record(a, '2026-11-26T05:00:00Z')).toEqual({ inserted: 1, updated: 0 })
    expect(await record(a, '2026-11-26T05:10:00Z')).toEqual({ inserted: 0, updated: 1 })
    expect(await record(b, '2026-11-26T05:10:00Z')).toEqual({ inserted: 1, updated: 0 })
  })
})

describe('no entry point writes a secret in plaintext when a key is configured', () => {
  test('a SQLite connection cannot be opened without stating the key', () => {
    const { dir, cleanup } = tempDir('mida-core-')
    cleanups.push(cleanup)
    // @ts-expect-error: the options, with the secret key, are required.
    expect(() => openDatabase(dir)).toThrow()
  })

  test('the core, the test factory path and the CLI all seal with MIDA_SECRET_KEY', async () => {
    const c = await core({ MIDA_SECRET_KEY: KEY })
    await updateSettings(c.data, c.store, { shopify_webhook_secret: 'shpss_core' }, clock)
    expect(isSealed(await stored(c, 'shopify_webhook_secret'))).toBe(true)

    const { dir, cleanup } = tempDir('mida-core-')
    cleanups.push(cleanup)
    const env = { MIDA_DATA_DIR: dir, ...(await engineEnv()) }
    const io = captureIo(dir, '', { ...env, MIDA_SECRET_KEY: KEY })
    expect(await runCli(['settings', 'set', 'smtp_password=pw-from-cli'], io, clock)).toBe(0)
    const reader = await openWithoutKey(env)
    try {
      const row = (await reader.get<{ value: string }>(
        "SELECT value FROM store_settings WHERE key = 'smtp_password'",
      )) as { value: string }
      expect(row.value.startsWith(SEALED_PREFIX)).toBe(true)
      expect(row.value).not.toContain('pw-from-cli')
    } finally {
      await reader.close()
    }
  })
})
