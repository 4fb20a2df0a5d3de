import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { MIGRATIONS } from '../../src/db/migrations.ts'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, onPostgres, postgresOnly, tempDir, testDatabaseUrl } from '../utils.ts'

const NOW = '2026-11-26T06:00:00Z'
const LATEST = Math.max(...MIGRATIONS.map((m) => m.version))
let dir: string
let cleanup: () => void
const clock = new FixedClock(NOW)

beforeEach(() => {
  ;({ dir, cleanup } = tempDir('mida-copy-'))
})
afterEach(() => cleanup())

/** Runs the CLI in-process, configured with `env` (a data dir, or a PostgreSQL URL). */
async function cli(args: string[], env: Record<string, string>) {
  const io = captureIo(dir, '', env)
  const code = await runCli(args, io, clock)
  return { code, out: io.stdout(), err: io.stderr() }
}

async function ok(args: string[], env: Record<string, string>) {
  const r = await cli(args, env)
  expect({ code: r.code, err: r.code === 0 ? '' : r.err }).toEqual({ code: 0, err: '' })
  return r.out
}

/** Every stored sync record's period and body (synced_at left out), in period order. */
async function storedBodies(env: Record<string, string>) {
  const data = await openData({
    dataDir: env.MIDA_DATA_DIR ?? dir,
    databaseUrl: env.MIDA_DATABASE_URL,
    secretKey: undefined,
  })
  try {
    const rows = await data.all<{ frequency: string; period_label: string; body: string }>(
      'SELECT frequency, period_label, body FROM sync_records ORDER BY frequency, period_start',
    )
    return rows.map((r) => ({ ...r, body: withoutSyncedAt(r.body) }))
  } finally {
    await data.close()
  }
}

function withoutSyncedAt(body: string): string {
  const parsed = JSON.parse(body) as Record<string, unknown>
  delete parsed.synced_at
  return JSON.stringify(parsed)
}

/** The periods synced below: ten days and two weeks of the demo data. */
const DAYS = Array.from({ length: 10 }, (_, i) => `2026-11-${String(15 + i).padStart(2, '0')}`)
const WEEKS = ['2026-11-09', '2026-11-16']

/** A store with demo data, a key, an admin, and a sync record for every period in DAYS/WEEKS. */
async function seed(env: Record<string, string>): Promise<void> {
  await ok(['settings', 'set', 'timezone=America/New_York', 'currency=USD'], env)
  await ok(['demo', '--days', '30', '--seed', '7'], env)
  await ok(['keys', 'create', '--name', 'looker'], env)
  await ok(
    ['admin', 'create', '--email', 'owner@example.com', '--password', 'a-long-password'],
    env,
  )
  for (const d of DAYS) await ok(['sync', '--frequency', 'daily', '--date', d], env)
  for (const d of WEEKS) await ok(['sync', '--frequency', 'weekly', '--date', d], env)
}

/** Each period synced again from the data itself (stored records dropped first): the bodies. */
async function recomputed(env: Record<string, string>): Promise<string[]> {
  const data = await openData({
    dataDir: env.MIDA_DATA_DIR ?? dir,
    databaseUrl: env.MIDA_DATABASE_URL,
    secretKey: undefined,
  })
  await data.run('DELETE FROM sync_records')
  await data.close()
  const bodies: string[] = []
  for (const d of DAYS)
    bodies.push(withoutSyncedAt(await ok(['sync', '--frequency', 'daily', '--date', d], env)))
  for (const d of WEEKS)
    bodies.push(withoutSyncedAt(await ok(['sync', '--frequency', 'weekly', '--date', d], env)))
  return bodies
}

describe('db copy', () => {
  postgresOnly(
    'SQLite → PostgreSQL → SQLite (PostgreSQL only): every table and every stored sync body the same, and the same bodies computed again on each engine',
    async () => {
      const first = { MIDA_DATA_DIR: join(dir, 'first') }
      const pg = { MIDA_DATA_DIR: join(dir, 'pg-node'), MIDA_DATABASE_URL: await testDatabaseUrl() }
      const back = { MIDA_DATA_DIR: join(dir, 'back') }
      await seed(first)

      const there = JSON.parse(
        await ok(['db', 'copy', '--to', pg.MIDA_DATABASE_URL, '--json'], first),
      ) as { tables: Record<string, number>; rows: number }
      expect(there.tables.sync_records).toBe(DAYS.length + WEEKS.length)
      expect(there.tables.sessions).toBeGreaterThan(5000)
      expect(there.tables.admins).toBe(1)
      expect(there.tables.api_keys).toBe(1)

      const again = JSON.parse(
        await ok(
          [
            'db',
            'copy',
            '--from',
            pg.MIDA_DATABASE_URL,
            '--to',
            `sqlite:${back.MIDA_DATA_DIR}`,
            '--json',
          ],
          first,
        ),
      ) as { tables: Record<string, number> }
      expect(again.tables).toEqual(there.tables)

      const stored = await storedBodies(first)
      expect(stored).toHaveLength(DAYS.length + WEEKS.length)
      expect(await storedBodies(pg)).toEqual(stored)
      expect(await storedBodies(back)).toEqual(stored)

      // The copies answer with what the first store answers: computed again on each engine.
      const bodies = await recomputed(first)
      expect(bodies.map((b) => JSON.parse(b).success)).toEqual(bodies.map(() => true))
      expect(await recomputed(pg)).toEqual(bodies)
      expect(await recomputed(back)).toEqual(bodies)
      expect(bodies).toEqual(stored.map((s) => s.body))

      // The copied key still opens the copied API on PostgreSQL: keys are copied as stored.
      const keys = await ok(['keys', 'list', '--json'], pg)
      expect((JSON.parse(keys) as { name: string }[]).map((k) => k.name)).toEqual(['looker'])
    },
  )

  test('refuses a target that is not empty, naming its rows, and changes nothing there', async () => {
    const first = { MIDA_DATA_DIR: join(dir, 'first') }
    const target: Record<string, string> = onPostgres
      ? { MIDA_DATABASE_URL: await testDatabaseUrl(), MIDA_DATA_DIR: join(dir, 't') }
      : { MIDA_DATA_DIR: join(dir, 'target') }
    const to = target.MIDA_DATABASE_URL ?? `sqlite:${target.MIDA_DATA_DIR}`
    await ok(['settings', 'set', 'timezone=America/New_York'], first)
    await ok(['settings', 'set', 'timezone=Europe/Paris'], target)
    const r = await cli(['db', 'copy', '--to', to], first)
    expect(r.code).toBe(1)
    expect(r.err).toStartWith(
      'Error: the target is not empty: rows in stores (1), store_settings (',
    )
    expect(JSON.parse(await ok(['settings', '--json'], target)).timezone).toBe('Europe/Paris')
  })

  test('SQLite → SQLite: a data directory copied whole; a bad --to is a usage error', async () => {
    const first = { MIDA_DATA_DIR: join(dir, 'first') }
    const copy = { MIDA_DATA_DIR: join(dir, 'copy') }
    await ok(['settings', 'set', 'timezone=America/New_York', 'currency=USD'], first)
    await ok(['demo', '--days', '3', '--seed', '1'], first)
    await ok(['sync', '--frequency', 'daily', '--date', '2026-11-24'], first)
    const out = await ok(['db', 'copy', '--to', `sqlite:${copy.MIDA_DATA_DIR}`], first)
    expect(out).toMatch(
      /^Copied \d+ rows in 19 tables from SQLite in .* to SQLite in .*; every table's count checked\.\n$/,
    )
    expect(await storedBodies(copy)).toEqual(await storedBodies(first))

    const bad = await cli(['db', 'copy', '--to', 'mysql://x'], first)
    expect(bad.code).toBe(2)
    expect(bad.err).toStartWith(
      '--to must be postgres://user:password@host:port/database or sqlite:DIR, got "mysql://x"',
    )
  })
})

describe('db migrate', () => {
  test('brings the configured database to the latest schema and says so', async () => {
    const env: Record<string, string> = onPostgres
      ? { MIDA_DATABASE_URL: await testDatabaseUrl(), MIDA_DATA_DIR: dir }
      : { MIDA_DATA_DIR: join(dir, 'fresh') }
    const r = JSON.parse(await ok(['db', 'migrate', '--json'], env)) as Record<string, unknown>
    expect({ engine: r.engine, version: r.version, latest: r.latest }).toEqual({
      engine: onPostgres ? 'postgres' : 'sqlite',
      version: LATEST,
      latest: LATEST,
    })
  })
})
