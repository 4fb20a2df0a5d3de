// Secrets saved before MIDA_SECRET_KEY was set: the next start with the key seals them and no
// copy of the plaintext is left in mida.sqlite, its WAL or its shared-memory file. Those tests
// read SQLite's files, so they are SQLite's; on PostgreSQL the settings table is rewritten.
import { afterEach, expect } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteData } from '../../src/db/data.ts'
import { type Database, openDatabase } from '../../src/db/database.ts'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { SEALED_PREFIX } from '../../src/domain/secrets.ts'
import {
  initialiseSettings,
  readSettings,
  sealPlaintextSecrets,
  updateSettings,
} from '../../src/domain/settings.ts'
import { ensureDefaultStore, type Store } from '../../src/domain/stores.ts'
import { runCli } from '../../src/main.ts'
import { killHard, prepareDataDir, testScope } from '../reliability/child.ts'
import { captureIo, postgresOnly, sqliteOnly, tempDir, testDatabaseUrl } from '../utils.ts'

const KEY = 'a-long-random-secret-key-0123456789'
const FILES = ['mida.sqlite', 'mida.sqlite-wal', 'mida.sqlite-shm']

const scope = testScope()
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function dataDir(): string {
  const { dir, cleanup } = tempDir('mida-seal-')
  cleanups.push(cleanup)
  return dir
}

function open(dir: string, secretKey?: string): Database {
  const db = openDatabase(dir, { secretKey })
  cleanups.push(() => db.close())
  return db
}

/** Which of the data dir's files hold `text` byte for byte (UTF-8). */
function filesHolding(dir: string, text: string): string[] {
  const needle = Buffer.from(text, 'utf8')
  return FILES.filter((f) => {
    const path = join(dir, f)
    return existsSync(path) && readFileSync(path).includes(needle)
  })
}

/** The pages of mida.sqlite that hold `text` and are not in use (free pages). */
function freePagesHolding(dir: string, text: string): number[] {
  const db = openDatabase(dir, { secretKey: undefined })
  try {
    const { page_size } = db.query('PRAGMA page_size').get() as { page_size: number }
    const used = new Set(
      (db.query('SELECT pageno FROM dbstat').all() as { pageno: number }[]).map((r) => r.pageno),
    )
    const raw = readFileSync(join(dir, 'mida.sqlite'))
    const pages: number[] = []
    for (let at = raw.indexOf(text); at >= 0; at = raw.indexOf(text, at + 1)) {
      const page = Math.floor(at / page_size) + 1
      if (!used.has(page)) pages.push(page)
    }
    return pages
  } finally {
    db.close()
  }
}

const clock = new FixedClock('2026-11-26T06:00:00Z')

/** The data layer over a connection, one per connection. */
const datas = new WeakMap<Database, SqliteData>()
function dataOf(db: Database): SqliteData {
  const data = datas.get(db) ?? new SqliteData(db)
  datas.set(db, data)
  return data
}

sqliteOnly(
  'a secret saved without the key is in the file as typed: the search finds it (SQLite only)',
  async () => {
    const dir = dataDir()
    const db = open(dir)
    const store = await ensureDefaultStore(dataOf(db), clock)
    await initialiseSettings(dataOf(db), store, clock)
    await updateSettings(dataOf(db), store, { smtp_password: 'Plain-SMTP-pw-7f3Qx' }, clock)
    expect(filesHolding(dir, 'Plain-SMTP-pw-7f3Qx')).not.toEqual([])
  },
)

sqliteOnly(
  'the next start with the key seals it, says which, and leaves no copy in the files (SQLite only)',
  async () => {
    const dir = dataDir()
    const before = open(dir)
    const store = await ensureDefaultStore(dataOf(before), clock)
    await initialiseSettings(dataOf(before), store, clock)
    await updateSettings(
      dataOf(before),
      store,
      { smtp_password: 'Plain-SMTP-pw-7f3Qx', shopify_webhook_secret: 'shpss_Plain-9KwZ' },
      clock,
    )
    before.close()
    expect(filesHolding(dir, 'Plain-SMTP-pw-7f3Qx')).toEqual(['mida.sqlite'])

    const db = open(dir, KEY)
    const lines: string[] = []
    expect(await sealPlaintextSecrets(dataOf(db), (line) => lines.push(line))).toEqual([
      'smtp_password',
      'shopify_webhook_secret',
    ])
    expect(lines).toEqual([
      'Sealed smtp_password and shopify_webhook_secret, saved before MIDA_SECRET_KEY was set, and rewrote the database so that no plaintext copy is left',
    ])
    // Checked while the database is open: its WAL exists and is what a running server has.
    expect(existsSync(join(dir, 'mida.sqlite-wal'))).toBe(true)
    expect(filesHolding(dir, 'Plain-SMTP-pw-7f3Qx')).toEqual([])
    expect(filesHolding(dir, 'shpss_Plain-9KwZ')).toEqual([])
    const stored = db
      .query('SELECT key, substr(value, 1, 7) AS prefix FROM store_settings WHERE key IN (?, ?)')
      .all('smtp_password', 'shopify_webhook_secret')
    expect(stored).toEqual([
      { key: 'shopify_webhook_secret', prefix: SEALED_PREFIX },
      { key: 'smtp_password', prefix: SEALED_PREFIX },
    ])
    const settings = await readSettings(dataOf(db), store)
    expect([settings.smtp_password, settings.shopify_webhook_secret]).toEqual([
      'Plain-SMTP-pw-7f3Qx',
      'shpss_Plain-9KwZ',
    ])
    // Done once: the next start finds nothing to seal and rewrites nothing.
    const again: string[] = []
    expect(await sealPlaintextSecrets(dataOf(db), (line) => again.push(line))).toEqual([])
    expect(again).toEqual([])
  },
)

sqliteOnly(
  'when the rewrite fails nothing is sealed, the log says why, and the next start seals (SQLite only)',
  async () => {
    const dir = dataDir()
    const before = open(dir)
    const store = await ensureDefaultStore(dataOf(before), clock)
    await initialiseSettings(dataOf(before), store, clock)
    await updateSettings(dataOf(before), store, { smtp_password: 'Plain-SMTP-pw-7f3Qx' }, clock)
    before.close()
    const db = open(dir, KEY)
    // A statement still stepping keeps VACUUM from running, as a full disk would.
    const rows = db.query('SELECT key FROM store_settings').iterate()
    rows.next()
    const lines: string[] = []
    expect(await sealPlaintextSecrets(dataOf(db), (line) => lines.push(line))).toEqual([])
    expect(lines).toEqual([
      'Could not seal smtp_password, saved before MIDA_SECRET_KEY was set: cannot VACUUM - SQL statements in progress; they stay as saved, and the next start tries again',
    ])
    expect((await readSettings(dataOf(db), store)).smtp_password).toBe('Plain-SMTP-pw-7f3Qx')
    rows.return?.()
    expect(await sealPlaintextSecrets(dataOf(db))).toEqual(['smtp_password'])
    expect(filesHolding(dir, 'Plain-SMTP-pw-7f3Qx')).toEqual([])
  },
)

sqliteOnly(
  'a reader elsewhere keeps the WAL from being emptied: the log says so, its close ends it (SQLite only)',
  async () => {
    const dir = dataDir()
    const before = open(dir)
    const store = await ensureDefaultStore(dataOf(before), clock)
    await initialiseSettings(dataOf(before), store, clock)
    await updateSettings(dataOf(before), store, { smtp_password: 'Plain-SMTP-pw-7f3Qx' }, clock)
    before.close()
    const db = open(dir, KEY)
    const reader = openDatabase(dir, { secretKey: undefined })
    reader.exec('BEGIN')
    reader.query('SELECT count(*) FROM store_settings').get()
    db.exec('PRAGMA busy_timeout = 0')
    const lines: string[] = []
    expect(await sealPlaintextSecrets(dataOf(db), (line) => lines.push(line))).toEqual([
      'smtp_password',
    ])
    expect(lines).toEqual([
      'Sealed smtp_password, saved before MIDA_SECRET_KEY was set, and rewrote the database so that no plaintext copy is left (another process has it open: old copies stay in its WAL until that process closes it)',
    ])
    expect(filesHolding(dir, 'Plain-SMTP-pw-7f3Qx')).not.toEqual([])
    reader.exec('COMMIT')
    reader.close()
    db.close()
    expect(filesHolding(dir, 'Plain-SMTP-pw-7f3Qx')).toEqual([])
  },
)

sqliteOnly(
  'a secret changed several times before the key was set: no old value is left either (SQLite only)',
  async () => {
    const dir = dataDir()
    // Each longer than the one before, so that none is written over the bytes of the last.
    const values = [
      'Old-pw-1-Ka81',
      'Old-pw-2-Lb92-long',
      'Old-pw-3-Mc03-longer',
      'Old-pw-4-Nd14-longest',
      'Now-pw-5-Oe25-the-longest',
    ]
    const hooks = ['shpss_Old-1-Pf36', 'shpss_Now-2-Qg47']
    /** One run of the server without the key: opens, changes, closes (the WAL is checkpointed). */
    const run = async (change: (db: Database, store: Store) => Promise<unknown>) => {
      const db = openDatabase(dir, { secretKey: undefined })
      const store = await ensureDefaultStore(dataOf(db), clock)
      await initialiseSettings(dataOf(db), store, clock)
      await change(db, store)
      db.close()
    }
    await run((db, store) =>
      updateSettings(
        dataOf(db),
        store,
        { smtp_password: values[0], shopify_webhook_secret: hooks[0] },
        clock,
      ),
    )
    await run((db, store) => updateSettings(dataOf(db), store, { smtp_password: values[1] }, clock))
    // More stores make the settings table grow over several pages; removing them later frees
    // those pages, with whatever they held, to the free list.
    await run(async (db, store) => {
      const other = db.query(
        'INSERT INTO stores (id, slug, tracking_id, created_at) VALUES (?1, ?2, ?2, 0)',
      )
      const setting = db.query(
        "INSERT INTO store_settings (store_id, key, value, updated_at) VALUES (?, ?, 'x', 0)",
      )
      db.transaction(() => {
        for (let s = 2; s <= 200; s++) {
          other.run(s, `MIDA-other-${s}`)
          for (const key of ['store_name', 'store_email', 'timezone', 'currency'])
            setting.run(s, key)
        }
      })()
      await updateSettings(dataOf(db), store, { smtp_password: values[2] }, clock)
    })
    await run((db, store) =>
      updateSettings(
        dataOf(db),
        store,
        { smtp_password: values[3], shopify_webhook_secret: hooks[1] },
        clock,
      ),
    )
    await run(async (db, store) => {
      db.query('DELETE FROM stores WHERE id > 1').run()
      await updateSettings(dataOf(db), store, { smtp_password: values[4] }, clock)
      const free = db.query('PRAGMA freelist_count').get() as { freelist_count: number }
      expect(free.freelist_count).toBeGreaterThan(0)
    })
    // Before: the last but one password is still in the file, in a free page among others.
    const held = [...values, ...hooks].filter((v) => filesHolding(dir, v).length > 0)
    expect(held).toEqual([values[3]!, values[4]!, hooks[1]!])
    expect(freePagesHolding(dir, values[3]!)).not.toEqual([])

    const db = open(dir, KEY)
    expect(await sealPlaintextSecrets(dataOf(db))).toEqual([
      'smtp_password',
      'shopify_webhook_secret',
    ])
    for (const v of [...values, ...hooks]) expect([v, filesHolding(dir, v)]).toEqual([v, []])
    expect((await readSettings(dataOf(db), { id: 1 })).smtp_password).toBe(values[4]!)
    expect(db.query('PRAGMA freelist_count').get()).toEqual({ freelist_count: 0 })
  },
)

sqliteOnly(
  'serve with the key after a crash: sealed at start-up, said once, no copy left in the WAL (SQLite only)',
  async () => {
    const dir = scope.dataDir('mida-seal-serve-')
    await prepareDataDir(dir)
    const before = await scope.startServer(dir)
    // Saved by the CLI while the server runs: the server's connection keeps the WAL, and the
    // kill -9 leaves it there with every version of the page.
    for (const change of [
      ['smtp_password=Crash-pw-1-Zr58', 'shopify_webhook_secret=shpss_Crash-Ys69'],
      ['smtp_password=Crash-pw-2-Xt70-longer'],
    ]) {
      const io = captureIo(dir, '', { MIDA_DATA_DIR: dir })
      expect(await runCli(['settings', 'set', ...change], io, clock)).toBe(0)
    }
    await killHard(before)
    const secrets = ['Crash-pw-1-Zr58', 'shpss_Crash-Ys69', 'Crash-pw-2-Xt70-longer']
    for (const v of secrets) expect([v, filesHolding(dir, v)]).toEqual([v, ['mida.sqlite-wal']])

    const env = { MIDA_SECRET_KEY: KEY }
    const server = await scope.startServer(dir, { env })
    expect(
      server
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('Sealed')),
    ).toEqual([
      'Sealed smtp_password and shopify_webhook_secret, saved before MIDA_SECRET_KEY was set, and rewrote the database so that no plaintext copy is left',
    ])
    for (const v of secrets) expect([v, filesHolding(dir, v)]).toEqual([v, []])
    const peek = open(dir, KEY)
    const settings = await readSettings(dataOf(peek), { id: 1 })
    expect([settings.smtp_password, settings.shopify_webhook_secret]).toEqual([
      'Crash-pw-2-Xt70-longer',
      'shpss_Crash-Ys69',
    ])
    peek.close()
    server.proc.kill('SIGTERM')
    expect(await server.exited).toBe(0)

    const next = await scope.startServer(dir, { env })
    next.proc.kill('SIGTERM')
    expect(await next.exited).toBe(0)
    expect(next.stderr()).not.toContain('Sealed')
  },
  30_000,
)

postgresOnly(
  'the next start with the key seals them, says which, and rewrites their table (PostgreSQL only)',
  async () => {
    const url = await testDatabaseUrl()
    const dir = dataDir()
    const before = await openData({ dataDir: dir, databaseUrl: url, secretKey: undefined })
    const store = await ensureDefaultStore(before, clock)
    await initialiseSettings(before, store, clock)
    await updateSettings(
      before,
      store,
      { smtp_password: 'Plain-SMTP-pw-7f3Qx', shopify_webhook_secret: 'shpss_Plain-9KwZ' },
      clock,
    )
    await before.close()
    const data = await openData({ dataDir: dir, databaseUrl: url, secretKey: KEY })
    cleanups.push(() => void data.close())
    const lines: string[] = []
    expect(await sealPlaintextSecrets(data, (line) => lines.push(line))).toEqual([
      'smtp_password',
      'shopify_webhook_secret',
    ])
    expect(lines).toEqual([
      "Sealed smtp_password and shopify_webhook_secret, saved before MIDA_SECRET_KEY was set, and rewrote the database so that no plaintext copy is left in its tables (PostgreSQL's write-ahead log (and any archive or replica of it) keeps old copies until the server recycles it)",
    ])
    expect(
      await data.all(
        'SELECT key, substr(value, 1, 7) AS prefix FROM store_settings WHERE key IN (?, ?) ORDER BY key',
        'smtp_password',
        'shopify_webhook_secret',
      ),
    ).toEqual([
      { key: 'shopify_webhook_secret', prefix: SEALED_PREFIX },
      { key: 'smtp_password', prefix: SEALED_PREFIX },
    ])
    const settings = await readSettings(data, store)
    expect([settings.smtp_password, settings.shopify_webhook_secret]).toEqual([
      'Plain-SMTP-pw-7f3Qx',
      'shpss_Plain-9KwZ',
    ])
    // Done once: the next start finds nothing to seal and rewrites nothing.
    const again: string[] = []
    expect(await sealPlaintextSecrets(data, (line) => again.push(line))).toEqual([])
    expect(again).toEqual([])
  },
)
