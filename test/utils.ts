import { describe, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL } from 'bun'
import type { Io } from '../src/cli/io.ts'
import { type Config, loadConfig } from '../src/config.ts'
import { type Core, closeCore, openCore } from '../src/core.ts'
import { type Data, SqliteData } from '../src/db/data.ts'
import type { Database } from '../src/db/database.ts'
import { openData } from '../src/db/open.ts'
import { migratePostgres } from '../src/db/postgres/migrations.ts'
import { FixedClock } from '../src/domain/clock.ts'
import type { Mailer } from '../src/domain/mailer.ts'
import { updateSettings } from '../src/domain/settings.ts'
import { ensureDefaultStore, type Store } from '../src/domain/stores.ts'
import { createApp } from '../src/http/app.ts'

/**
 * The engine this run of the suite tests: SQLite (the default), or PostgreSQL when
 * MIDA_TEST_ENGINE=postgres and MIDA_TEST_DATABASE_URL names a throw-away cluster's superuser URL
 * (scripts/test.ts starts one). Every test that touches the database runs on both, with the same
 * assertions; a test of one engine alone says so in its name and is skipped on the other.
 */
export const TEST_ENGINE: 'sqlite' | 'postgres' =
  process.env.MIDA_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite'
export const onPostgres = TEST_ENGINE === 'postgres'
/** A test of SQLite alone (its name says "(SQLite only)"): skipped on PostgreSQL. */
export const sqliteOnly = test.skipIf(onPostgres)
/** Tests of SQLite alone (the name says "(SQLite only)"): skipped on PostgreSQL. */
export const describeSqliteOnly = describe.skipIf(onPostgres)
/** A test of PostgreSQL alone (its name says "(PostgreSQL only)"): skipped on SQLite. */
export const postgresOnly = test.skipIf(!onPostgres)

let admin: SQL | null = null
let databases = 0
const TEMPLATE = 'mida_test_template'
/** The next database, being copied from the template while the current test runs. */
let next: Promise<string> | null = null

/**
 * A fresh, migrated PostgreSQL database of the test cluster (a copy of a template migrated once
 * per process): its URL. The copy for the next call is started at once, so that it is made while
 * the test runs (a copy waits for a checkpoint: ~0.1-0.5 s). Only on PostgreSQL runs.
 */
export async function testDatabaseUrl(): Promise<string> {
  const base = process.env.MIDA_TEST_DATABASE_URL
  if (!base) throw new Error('MIDA_TEST_DATABASE_URL is not set (scripts/test.ts sets it)')
  const at = (name: string) => {
    const u = new URL(base)
    u.pathname = `/${name}`
    return u.toString()
  }
  if (!admin) {
    admin = new SQL({ url: base, max: 1 })
    const template = `${TEMPLATE}_${process.pid}`
    await admin.unsafe(`CREATE DATABASE ${template}`)
    const sql = new SQL({ url: at(template), max: 1 })
    await migratePostgres(sql)
    await sql.close()
  }
  const sql = admin
  const copy = async () => {
    const name = `mida_test_${process.pid}_${++databases}`
    await sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}_${process.pid}`)
    return at(name)
  }
  const url = await (next ?? copy())
  next = copy()
  // A prefetched copy nobody takes (the last test) is no failure.
  next.catch(() => {})
  return url
}

/** Drops a database testDatabaseUrl made (its connections closed first); others are left alone. */
async function dropTestDatabase(url: string | undefined): Promise<void> {
  const name = url ? new URL(url).pathname.slice(1) : ''
  if (!admin || !/^mida_test_\d+_\d+$/.test(name)) return
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
}

/** The environment that points a core (or a child process) at this run's engine. */
export async function engineEnv(): Promise<Record<string, string>> {
  return onPostgres ? { MIDA_DATABASE_URL: await testDatabaseUrl() } : {}
}

/** SQLite's connection behind `data`; a test that needs it runs on SQLite only. */
function sqliteDb(data: Data): Database {
  if (data instanceof SqliteData) return data.db
  // Taken apart with the rest (`const { db, data } = t`) it is harmless; used, it says why not.
  return new Proxy({} as Database, {
    get() {
      throw new Error(
        'This test uses SQLite\'s connection (db): make it use data, or name it "(SQLite only)" and use sqliteOnly',
      )
    },
  })
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'mida-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface TestApp {
  app: ReturnType<typeof createApp>
  /** The core the app runs on (openCore), as `serve` and the CLI open it. */
  core: Core
  /** The data layer (core.data): what domain functions are given. */
  data: Data
  /** SQLite's connection (SQLite-only tests: it throws on PostgreSQL). */
  readonly db: Database
  clock: FixedClock
  config: Config
  dir: string
  /** The store requests act on (core.store). */
  store: Store
  storeId: number
  /** Calls the app in-process, as Elysia's own tests do. */
  request(path: string, init?: RequestInit): Promise<Response>
  close(): void
}

export interface TestAppOptions {
  now?: string
  settings?: Record<string, unknown>
  env?: Record<string, string>
  /** Sends every email (default: the configured SMTP, as in production). */
  mailer?: Mailer
}

/** A whole app on a temp data dir with a fixed clock: the test app factory. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { dir, cleanup } = tempDir()
  const clock = new FixedClock(options.now ?? '2026-11-26T06:00:00Z')
  const env = { MIDA_DATA_DIR: dir, ...(await engineEnv()), ...options.env }
  const config = loadConfig({ env, cwd: dir })
  const core = await openCore({ config, clock, mailer: options.mailer })
  const app = createApp(core)
  const store = await ensureDefaultStore(core.data, clock)
  const storeId = store.id
  if (options.settings) await updateSettings(core.data, store, options.settings, clock)
  return {
    app,
    core,
    data: core.data,
    get db() {
      return sqliteDb(core.data)
    },
    clock,
    config,
    dir,
    store,
    storeId,
    request: (path, init) => app.handle(new Request(`http://localhost${path}`, init)),
    close() {
      // SQLite closes at once; a PostgreSQL pool closes (and its database goes) in the background.
      void closeCore(core)
        .then(() => dropTestDatabase(config.databaseUrl))
        .finally(cleanup)
    },
  }
}

/** Listens on a free port; returns the base URL and a stop function. */
export function listen(app: ReturnType<typeof createApp>): {
  url: string
  stop: () => Promise<void>
} {
  app.listen({ port: 0, hostname: '127.0.0.1' })
  const port = app.server?.port
  if (!port) throw new Error('server did not start')
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await app.stop()
    },
  }
}

export interface TestStore {
  /** The data layer: what domain functions are given. */
  data: Data
  /** SQLite's connection (SQLite-only tests: it throws on PostgreSQL). */
  readonly db: Database
  clock: FixedClock
  store: Store
  storeId: number
  dir: string
  /** Closes the database and removes its directory. */
  close(): void
}

/** A store in a fresh data dir with a fixed clock, for domain tests that need no HTTP. */
export async function openTestStore(now = '2026-11-26T06:00:00Z'): Promise<TestStore> {
  const { dir, cleanup } = tempDir()
  const databaseUrl = onPostgres ? await testDatabaseUrl() : undefined
  const data = await openData({ dataDir: dir, databaseUrl, secretKey: undefined })
  const clock = new FixedClock(now)
  const store = await ensureDefaultStore(data, clock)
  return {
    data,
    get db() {
      return sqliteDb(data)
    },
    clock,
    store,
    storeId: store.id,
    dir,
    close() {
      void data
        .close()
        .then(() => dropTestDatabase(databaseUrl))
        .finally(cleanup)
    },
  }
}

/** An Io that records what a command prints, with optional stdin text. */
export function captureIo(
  cwd: string,
  stdin = '',
  env: Record<string, string> = {},
): Io & { stdout: () => string; stderr: () => string } {
  let out = ''
  let err = ''
  return {
    out: (t) => {
      out += t
    },
    err: (t) => {
      err += t
    },
    stdin: () => new Blob([stdin]).stream(),
    isTTY: false,
    env,
    cwd,
    stdout: () => out,
    stderr: () => err,
  }
}

/**
 * What a successful sync of 2026-11-25 in New York (USD) says besides its figures, when it runs at
 * 06:00Z the next day: the tests of the domain, the API and the CLI share this seed and clock.
 */
export const NEW_YORK_DAY_SYNC = {
  success: true,
  message: 'Sync successful',
  frequency: 'daily',
  period: {
    start: '2026-11-25T00:00:00-05:00',
    end: '2026-11-26T00:00:00-05:00',
    label: '2026-11-25',
    timezone: 'America/New_York',
  },
  synced_at: '2026-11-26T06:00:00.000Z',
  currency: 'USD',
} as const
