// File modes (DESIGN "Files"): the data directory 0700, the database, its WAL and backups 0600,
// whatever the umask; looser ones left by an older version are tightened when the database opens.
// SQLite's files alone: on PostgreSQL the server keeps the data and these files do not exist.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteData } from '../../src/db/data.ts'
import { openDatabase } from '../../src/db/database.ts'
import { backupDatabase, dailyBackup } from '../../src/domain/backup.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { runCli } from '../../src/main.ts'
import { testScope, waitUntil } from '../reliability/child.ts'
import { captureIo, describeSqliteOnly, tempDir } from '../utils.ts'

const scope = testScope()
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)

let umask: number
let parent: string
const cleanups: (() => void)[] = []
beforeEach(() => {
  // The usual umask, under which files would be 0644 and directories 0755.
  umask = process.umask(0o022)
  const t = tempDir('mida-files-')
  parent = t.dir
  cleanups.push(t.cleanup)
})
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
  process.umask(umask)
})

/** openDatabase with its log collected. */
function open(dir: string) {
  const lines: string[] = []
  const db = openDatabase(dir, { secretKey: undefined, log: (line) => lines.push(line) })
  cleanups.push(() => db.close())
  return { db, lines }
}

describeSqliteOnly('a new data directory (SQLite only)', () => {
  test('is 0700, with the database, its WAL and shared-memory file 0600, and says nothing', async () => {
    const dir = join(parent, 'data')
    const { db, lines } = open(dir)
    await ensureDefaultStore(new SqliteData(db), new FixedClock('2026-11-26T06:00:00Z'))
    expect(lines).toEqual([])
    expect(mode(dir)).toBe('700')
    for (const file of ['mida.sqlite', 'mida.sqlite-wal', 'mida.sqlite-shm']) {
      expect([file, mode(join(dir, file))]).toEqual([file, '600'])
    }
  })

  test('a rollback journal (another journal mode) is 0600 too', () => {
    const dir = join(parent, 'data')
    const { db } = open(dir)
    db.exec('PRAGMA journal_mode = DELETE')
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    db.exec('PRAGMA journal_mode = PERSIST')
    db.exec('CREATE TABLE t (a)')
    expect(mode(join(dir, 'mida.sqlite-journal'))).toBe('600')
  })

  test('backups: the folder is 0700, a daily backup and a backup FILE 0600', async () => {
    const dir = join(parent, 'data')
    const { db } = open(dir)
    const data = new SqliteData(db)
    const daily = await dailyBackup(data, dir, Temporal.PlainDate.from('2026-11-26'), 7)
    expect(mode(join(dir, 'backups'))).toBe('700')
    expect(mode(daily.file)).toBe('600')
    const copy = await backupDatabase(data, join(parent, 'copy.sqlite'))
    expect(mode(copy.file)).toBe('600')
    // The folder of a backup FILE is the user's choice and left as it is.
    expect(mode(parent)).toBe('700')
  })

  test('under a stricter umask the modes are the same', async () => {
    process.umask(0o277)
    const dir = join(parent, 'data')
    const { db } = open(dir)
    await ensureDefaultStore(new SqliteData(db), new FixedClock('2026-11-26T06:00:00Z'))
    expect([mode(dir), mode(join(dir, 'mida.sqlite'))]).toEqual(['700', '600'])
    const daily = await dailyBackup(
      new SqliteData(db),
      dir,
      Temporal.PlainDate.from('2026-11-26'),
      7,
    )
    expect([mode(join(dir, 'backups')), mode(daily.file)]).toEqual(['700', '600'])
  })
})

describeSqliteOnly('an existing data directory others can read (SQLite only)', () => {
  /** A data dir as an older version left it: 0755 and 0644, its server still running. */
  async function looseDataDir() {
    const dir = join(parent, 'data')
    const running = openDatabase(dir, { secretKey: undefined })
    cleanups.push(() => running.close())
    await ensureDefaultStore(new SqliteData(running), new FixedClock('2026-11-26T06:00:00Z'))
    mkdirSync(join(dir, 'backups'))
    writeFileSync(join(dir, 'backups', 'mida-2026-11-25.sqlite'), 'a backup')
    writeFileSync(join(dir, 'notes.txt'), 'not ours')
    for (const d of [dir, join(dir, 'backups')]) chmodSync(d, 0o755)
    for (const f of ['mida.sqlite', 'mida.sqlite-wal', 'mida.sqlite-shm', 'notes.txt']) {
      chmodSync(join(dir, f), 0o644)
    }
    chmodSync(join(dir, 'backups', 'mida-2026-11-25.sqlite'), 0o640)
    return dir
  }

  test('is tightened when the database opens, in one log line; the next open says nothing', async () => {
    const dir = await looseDataDir()
    const first = open(dir)
    expect(first.lines).toEqual([
      `Tightened permissions of ${dir} and ${join(dir, 'backups')} to 0700 and 4 files in ${dir} to 0600 (other users had access)`,
    ])
    expect([mode(dir), mode(join(dir, 'backups'))]).toEqual(['700', '700'])
    for (const f of ['mida.sqlite', 'mida.sqlite-wal', 'mida.sqlite-shm']) {
      expect([f, mode(join(dir, f))]).toEqual([f, '600'])
    }
    expect(mode(join(dir, 'backups', 'mida-2026-11-25.sqlite'))).toBe('600')
    // Files that are not the database's are not touched.
    expect(mode(join(dir, 'notes.txt'))).toBe('644')
    expect(open(dir).lines).toEqual([])
  })

  test('only the files: the line counts them', () => {
    const dir = join(parent, 'data')
    openDatabase(dir, { secretKey: undefined }).close()
    chmodSync(join(dir, 'mida.sqlite'), 0o604)
    expect(open(dir).lines).toEqual([
      `Tightened permissions of 1 file in ${dir} to 0600 (other users had access)`,
    ])
    expect(mode(join(dir, 'mida.sqlite'))).toBe('600')
  })
})

describeSqliteOnly('through the command line (SQLite only)', () => {
  test('backup FILE is written 0600; a loose data dir is tightened and the line goes to stderr', async () => {
    const dir = join(parent, 'data')
    openDatabase(dir, { secretKey: undefined }).close()
    chmodSync(dir, 0o755)
    chmodSync(join(dir, 'mida.sqlite'), 0o644)
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const io = captureIo(parent)
    expect(await runCli(['backup', 'copy.sqlite', '--data-dir', dir, '--json'], io, clock)).toBe(0)
    expect(io.stderr()).toBe(
      `Tightened permissions of ${dir} to 0700 and 1 file in ${dir} to 0600 (other users had access)\n`,
    )
    expect(JSON.parse(io.stdout())).toMatchObject({ file: join(parent, 'copy.sqlite') })
    expect([mode(dir), mode(join(dir, 'mida.sqlite')), mode(join(parent, 'copy.sqlite'))]).toEqual([
      '700',
      '600',
      '600',
    ])
    const again = captureIo(parent)
    expect(await runCli(['backup', '--keep', '2', '--data-dir', dir], again, clock)).toBe(0)
    expect(again.stderr()).toBe('')
    expect(mode(join(dir, 'backups', 'mida-2026-11-26.sqlite'))).toBe('600')
  })

  test('serve: a new data dir, its database and daily backup are private; a loosened one is tightened at the next start, said once', async () => {
    const dir = join(parent, 'data')
    const backup = join(dir, 'backups', 'mida-2026-11-26.sqlite')
    const options = { now: '2026-11-26T06:00:00Z', env: { MIDA_BACKUP_KEEP: '2' } }
    const serve = () => scope.startServer(dir, options)
    const stop = async (server: Awaited<ReturnType<typeof serve>>) => {
      server.proc.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      return server.stderr()
    }

    const first = await serve()
    await waitUntil(() => first.stderr().includes('Daily backup written'), 'the daily backup')
    const files = ['mida.sqlite', 'mida.sqlite-wal', 'mida.sqlite-shm']
    expect([mode(dir), mode(join(dir, 'backups')), mode(backup)]).toEqual(['700', '700', '600'])
    for (const f of files) expect([f, mode(join(dir, f))]).toEqual([f, '600'])
    expect(await stop(first)).not.toContain('permissions')

    // As an older version (or a copy with cp -r under umask 022) would leave it.
    for (const d of [dir, join(dir, 'backups')]) chmodSync(d, 0o755)
    for (const f of [join(dir, 'mida.sqlite'), backup]) chmodSync(f, 0o644)
    const second = await serve()
    expect([mode(dir), mode(join(dir, 'backups')), mode(backup)]).toEqual(['700', '700', '600'])
    for (const f of files) expect([f, mode(join(dir, f))]).toEqual([f, '600'])
    const log = await stop(second)
    expect(log.split('\n').filter((l) => l.includes('permissions'))).toEqual([
      `Tightened permissions of ${dir} and ${join(dir, 'backups')} to 0700 and 2 files in ${dir} to 0600 (other users had access)`,
    ])
    expect(await stop(await serve())).not.toContain('permissions')
  }, 30_000)
})
