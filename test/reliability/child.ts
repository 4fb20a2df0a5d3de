// Helpers for the reliability tests: a real server (or CLI) in a child process on a data dir,
// and a look into that data dir from the test process.
import { Database } from 'bun:sqlite'
import { afterEach } from 'bun:test'
import { join } from 'node:path'
import { SqliteData } from '../../src/db/data.ts'
import { openDatabase } from '../../src/db/database.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { initialiseSettings, updateSettings } from '../../src/domain/settings.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { tempDir } from '../utils.ts'

const ROOT = join(import.meta.dir, '..', '..')
const SERVE_AT = join(ROOT, 'test', 'fixtures', 'serve-at.ts')

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

/** Starts `serve --port 0` on `dir` and waits (at most 10 s) for it to listen. */
async function startServer(
  dir: string,
  options: { now?: string; env?: Record<string, string> } = {},
): Promise<ServerChild> {
  const child = spawnCli(['serve', '--port', '0', '--data-dir', dir], options)
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

/** A second connection to a data dir's database, as another process would have. */
export function peek(dir: string): Database {
  const db = new Database(join(dir, 'mida.sqlite'))
  db.exec('PRAGMA busy_timeout = 5000')
  return db
}

/** `PRAGMA integrity_check` of the data dir's database, opened fresh (recovering the WAL). */
export function integrity(dir: string): string {
  const db = peek(dir)
  try {
    const rows = db.query('PRAGMA integrity_check').all() as { integrity_check: string }[]
    return rows.map((r) => r.integrity_check).join('; ')
  } finally {
    db.close()
  }
}

/** One number from a query. */
export function scalar(db: Database, sql: string, ...params: (string | number)[]): number {
  const row = db.query(sql).get(...params) as Record<string, number> | null
  return row ? Number(Object.values(row)[0]) : 0
}

/** Prepares a data dir: store, settings, and optionally an API key; returns the store's ids. */
export async function prepareDataDir(
  dir: string,
  options: { settings?: Record<string, unknown>; keyScope?: 'export' | 'ingest' } = {},
): Promise<{ trackingId: string; key: string | undefined }> {
  const clock = new FixedClock('2026-11-26T06:00:00Z')
  const db = openDatabase(dir, { secretKey: undefined })
  const data = new SqliteData(db)
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
    db.close()
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
