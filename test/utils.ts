import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Io } from '../src/cli/io.ts'
import { type Config, loadConfig } from '../src/config.ts'
import { type Core, closeCore, openCore } from '../src/core.ts'
import { SqliteData } from '../src/db/data.ts'
import { type Database, openDatabase } from '../src/db/database.ts'
import { FixedClock } from '../src/domain/clock.ts'
import type { Mailer } from '../src/domain/mailer.ts'
import { updateSettings } from '../src/domain/settings.ts'
import { ensureDefaultStore, type Store } from '../src/domain/stores.ts'
import { createApp } from '../src/http/app.ts'

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
  data: SqliteData
  db: Database
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
  const config = loadConfig({ env: { MIDA_DATA_DIR: dir, ...options.env }, cwd: dir })
  const core = await openCore({ config, clock, mailer: options.mailer })
  const { db } = core
  const app = createApp(core)
  const storeId = core.store.id
  if (options.settings) await updateSettings(core.data, core.store, options.settings, clock)
  return {
    app,
    core,
    data: core.data,
    db,
    clock,
    config,
    dir,
    store: core.store,
    storeId,
    request: (path, init) => app.handle(new Request(`http://localhost${path}`, init)),
    close() {
      closeCore(core)
      cleanup()
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
  /** The data layer over `db`: what domain functions are given. */
  data: SqliteData
  db: Database
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
  const db = openDatabase(dir, { secretKey: undefined })
  const clock = new FixedClock(now)
  const data = new SqliteData(db)
  const store = await ensureDefaultStore(data, clock)
  return {
    data,
    db,
    clock,
    store,
    storeId: store.id,
    dir,
    close() {
      db.close()
      cleanup()
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
