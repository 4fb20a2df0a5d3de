// Helpers for the reliability tests: a real server (or CLI) in a child process on a data dir,
// and a look into that data dir from the test process. On PostgreSQL runs each data dir has a
// database of its own (dataDirEnv), which every process given that dir is pointed at.
import { Database } from 'bun:sqlite'
import { afterEach } from 'bun:test'
import { join } from 'node:path'
import type { Data, Queries, SqlValue } from '../../src/db/data.ts'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { initialiseSettings, updateSettings } from '../../src/domain/settings.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { engineEnv, onPostgres, tempDir } from '../utils.ts'

const ROOT = join(import.meta.dir, '..', '..')
const SERVE_AT = join(ROOT, 'test', 'fixtures', 'serve-at.ts')

const envs = new Map<string, Promise<Record<string, string>>>()

/**
 * The environment that points a process at a data dir's database: nothing on SQLite (the file is
 * in the dir), on PostgreSQL the dir's own fresh database, the same for every process and call.
 */
export function dataDirEnv(dir: string): Promise<Record<string, string>> {
  let env = envs.get(dir)
  if (!env) {
    env = engineEnv()
    envs.set(dir, env)
  }
  return env
}

/** A data dir's database opened from the test process, as a command opens it. */
export async function openDataDir(dir: string, secretKey?: string): Promise<Data> {
  const env = await dataDirEnv(dir)
  return openData({ dataDir: dir, databaseUrl: env.MIDA_DATABASE_URL, secretKey })
}

/** A child process running the real command line. */
export interface Child {
  proc: Bun.Subprocess<'ignore' | 'pipe', 'pipe', 'pipe'>
  pid: number
  /** Everything it wrote to stdout and stderr so far. */
  stdout(): string
  stderr(): string
  exited: Promise<number>
}

/**
 * Spawns `bun test/fixtures/serve-at.ts ARGS` (the CLI, clock from `now` if given); with
 * `stdin: 'pipe'`, the test writes its input through `proc.stdin`.
 */
export function spawnCli(
  args: string[],
  options: { now?: string; env?: Record<string, string>; stdin?: 'pipe' } = {},
): Child {
  const proc = Bun.spawn([process.execPath, SERVE_AT, ...args], {
    cwd: ROOT,
    stdin: options.stdin ?? 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...(options.now ? { MIDA_TEST_NOW: options.now } : {}),
      ...options.env,
    },
  })
  let out = ''
  let err = ''
  const outDone = (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of proc.stdout) out += decoder.decode(chunk, { stream: true })
  })()
  void (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of proc.stderr) err += decoder.decode(chunk, { stream: true })
  })()
  // Resolves with the exit code once stdout is read to its end too.
  const exited = proc.exited.then(async (code) => {
    await outDone.catch(() => {})
    return code
  })
  return { proc, pid: proc.pid, stdout: () => out, stderr: () => err, exited }
}

/** A running server child: its base URL once it printed its banner. */
interface ServerChild extends Child {
  url: string
  port: number
}

/** Starts `serve --port 0` on `dir` (and its database) and waits (at most 10 s) for it to listen. */
async function startServer(
  dir: string,
  options: { now?: string; env?: Record<string, string> } = {},
): Promise<ServerChild> {
  const env = { ...(await dataDirEnv(dir)), ...options.env }
  const child = spawnCli(['serve', '--port', '0', '--data-dir', dir], { ...options, env })
  const until = Date.now() + 10_000
  let match: RegExpExecArray | null = null
  while (!match) {
    match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(child.stderr())
    if (match) break
    if (child.proc.exitCode !== null || Date.now() > until) {
      child.proc.kill('SIGKILL')
      throw new Error(`server did not start: ${child.stderr()}`)
    }
    await Bun.sleep(5)
  }
  const port = Number(match[1])
  return { ...child, port, url: `http://127.0.0.1:${port}` }
}

/** kill -9 and wait for the process to be gone. */
export async function killHard(child: Child): Promise<void> {
  child.proc.kill('SIGKILL')
  await child.exited
}

/** Waits (bounded) until `check` returns a truthy value, polling every `everyMs`. */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 2,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(everyMs)
  }
}

/** Reads of a data dir's database from the test process. */
export interface Peek extends Pick<Queries, 'all' | 'get'> {
  close(): Promise<void>
}

/**
 * A second connection to a data dir's database, as another process would have: on SQLite a bare
 * connection to the file (nothing migrated, no permission repaired, as a look should be), on
 * PostgreSQL the data layer on the dir's database.
 */
export async function peek(dir: string): Promise<Peek> {
  if (onPostgres) return openDataDir(dir)
  const db = new Database(join(dir, 'mida.sqlite'))
  db.exec('PRAGMA busy_timeout = 5000')
  return {
    all: async <Row>(sql: string, ...params: SqlValue[]) => db.query(sql).all(...params) as Row[],
    get: async <Row>(sql: string, ...params: SqlValue[]) =>
      db.query(sql).get(...params) as Row | null,
    close: async () => db.close(),
  }
}

/**
 * The data dir's database checked whole: on SQLite `PRAGMA integrity_check` of the file, opened
 * fresh (recovering the WAL); on PostgreSQL amcheck's check of every B-tree index of the schema
 * against its table ('ok', or the first error).
 */
export async function integrity(dir: string): Promise<string> {
  if (onPostgres) {
    const data = await openDataDir(dir)
    try {
      await data.run('CREATE EXTENSION IF NOT EXISTS amcheck')
      await data.all(
        `SELECT bt_index_check(c.oid, true) FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_am a ON a.oid = c.relam
          WHERE a.amname = 'btree' AND c.relnamespace = 'public'::regnamespace`,
      )
      return 'ok'
    } catch (err) {
      return (err as Error).message
    } finally {
      await data.close()
    }
  }
  const db = new Database(join(dir, 'mida.sqlite'))
  try {
    const rows = db.query('PRAGMA integrity_check').all() as { integrity_check: string }[]
    return rows.map((r) => r.integrity_check).join('; ')
  } finally {
    db.close()
  }
}

/** One number from a query. */
export async function scalar(db: Peek, sql: string, ...params: SqlValue[]): Promise<number> {
  const row = await db.get<Record<string, number>>(sql, ...params)
  return row ? Number(Object.values(row)[0]) : 0
}

/**
 * Takes the database's write lock from the test process (a write transaction left open, on either
 * engine) until `release` is called: other processes' writes wait meanwhile.
 */
export async function holdWriteLock(dir: string): Promise<{ release(): Promise<void> }> {
  const data = await openDataDir(dir)
  const begun = Promise.withResolvers<void>()
  const gate = Promise.withResolvers<void>()
  // A write transaction takes the lock as it begins (SQLite's BEGIN IMMEDIATE, PostgreSQL's
  // advisory write lock).
  const held = data.tx(async () => {
    begun.resolve()
    await gate.promise
  })
  void held.catch((err) => begun.reject(err))
  await begun.promise
  return {
    async release() {
      gate.resolve()
      await held
      await data.close()
    },
  }
}

/** Prepares a data dir: store, settings, and optionally an API key; returns the store's ids. */
export async function prepareDataDir(
  dir: string,
  options: { settings?: Record<string, unknown>; keyScope?: 'export' | 'ingest' } = {},
): Promise<{ trackingId: string; key: string | undefined }> {
  const clock = new FixedClock('2026-11-26T06:00:00Z')
  const data = await openDataDir(dir)
  try {
    const store = await ensureDefaultStore(data, clock)
    await initialiseSettings(data, store, clock)
    if (options.settings) await updateSettings(data, store, options.settings, clock)
    const key = options.keyScope
      ? (await createApiKey(data, store, `test-${options.keyScope}`, options.keyScope, clock))
          .secret
      : undefined
    return { trackingId: store.trackingId, key }
  } finally {
    await data.close()
  }
}

/** Data dirs, child processes and servers that live as long as one test. */
export interface TestScope {
  /** Runs `cleanup` after the current test (cleanups run in reverse order). */
  defer(cleanup: () => void | Promise<void>): void
  /** A fresh temporary data directory, removed after the test. */
  dataDir(prefix: string): string
  /** `startServer`, killed with SIGKILL after the test if it still runs. */
  startServer(dir: string, options?: Parameters<typeof startServer>[1]): Promise<ServerChild>
}

/** A test file's `TestScope`; call once at the top level (it registers an `afterEach`). */
export function testScope(): TestScope {
  const cleanups: (() => void | Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  return {
    defer: (cleanup) => void cleanups.push(cleanup),
    dataDir(prefix) {
      const { dir, cleanup } = tempDir(prefix)
      cleanups.push(cleanup)
      return dir
    },
    async startServer(dir, options) {
      const server = await startServer(dir, options)
      cleanups.push(() => void server.proc.kill('SIGKILL'))
      return server
    },
  }
}

/** One tracker pageview posted to a server's `/apiv1/collect`, as a desktop browser sends it. */
export function postPageview(
  baseUrl: string,
  store: string,
  visitor: string,
  url: string,
): Promise<Response> {
  return fetch(`${baseUrl}/apiv1/collect`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux)' },
    body: JSON.stringify({ store, visitor, event: 'pageview', url }),
  })
}
