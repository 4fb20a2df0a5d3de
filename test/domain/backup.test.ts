import { Database } from 'bun:sqlite'
import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteData } from '../../src/db/data.ts'
import { openDatabase } from '../../src/db/database.ts'
import {
  BackupJob,
  backupDatabase,
  dailyBackupPath,
  rotateBackups,
} from '../../src/domain/backup.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { writeSessions } from '../../src/domain/ingest/writers.ts'
import { sessionInput } from '../../src/domain/records.ts'
import { initialiseSettings, updateSettings } from '../../src/domain/settings.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, describeSqliteOnly, tempDir } from '../utils.ts'

// Backups are SQLite's (VACUUM INTO a file); on PostgreSQL `backup` names pg_dump instead. The
// rotation of the backup directory touches no database and runs on both.
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

async function store(timezone = 'America/New_York') {
  const { dir, cleanup } = tempDir('mida-backup-')
  cleanups.push(cleanup)
  const clock = new FixedClock('2026-11-26T06:00:00Z')
  const db = openDatabase(dir, { secretKey: undefined })
  cleanups.unshift(() => db.close())
  const data = new SqliteData(db)
  const handle = await ensureDefaultStore(data, clock)
  await initialiseSettings(data, handle, clock)
  await updateSettings(data, handle, { timezone }, clock)
  const sessions = ['a', 'b', 'c'].map((s) =>
    sessionInput.parse({ id: s, visitor_id: `v-${s}`, started_at: '2026-11-25T12:00:00Z' }),
  )
  await writeSessions(data, handle, sessions, clock)
  return { dir, db, data, clock }
}

function sessionsIn(file: string): number {
  const copy = new Database(file, { readonly: true })
  try {
    return (copy.query('SELECT count(*) AS n FROM sessions').get() as { n: number }).n
  } finally {
    copy.close()
  }
}

describeSqliteOnly('backupDatabase (SQLite only)', () => {
  test('writes a checked copy with the data, and refuses to overwrite a file', async () => {
    const { dir, data } = await store()
    const file = join(dir, 'copy.sqlite')
    const result = await backupDatabase(data, file)
    expect(result.file).toBe(file)
    expect(result.bytes).toBeGreaterThan(0)
    expect(sessionsIn(file)).toBe(3)
    expect(existsSync(`${file}.partial`)).toBe(false)
    await expect(backupDatabase(data, file)).rejects.toThrow(`${file} already exists`)
  })
})

describe('rotateBackups', () => {
  test('keeps the newest N daily files by date, removes leftovers, leaves other files alone', () => {
    const { dir, cleanup } = tempDir('mida-rotate-')
    cleanups.push(cleanup)
    for (const day of ['2026-11-20', '2026-11-22', '2026-11-21', '2026-11-25', '2026-11-24']) {
      writeFileSync(join(dir, `mida-${day}.sqlite`), 'x')
    }
    writeFileSync(join(dir, 'mida-2026-11-26.sqlite.partial'), 'x')
    writeFileSync(join(dir, 'my-own-copy.sqlite'), 'x')
    expect(rotateBackups(dir, 3).sort()).toEqual([
      'mida-2026-11-20.sqlite',
      'mida-2026-11-21.sqlite',
      'mida-2026-11-26.sqlite.partial',
    ])
    expect(readdirSync(dir).sort()).toEqual([
      'mida-2026-11-22.sqlite',
      'mida-2026-11-24.sqlite',
      'mida-2026-11-25.sqlite',
      'my-own-copy.sqlite',
    ])
    expect(rotateBackups(join(dir, 'missing'), 3)).toEqual([])
  })
})

describeSqliteOnly('BackupJob (SQLite only)', () => {
  test('one backup per store day, named by the store date, keeping the newest N', async () => {
    const { dir, data, clock } = await store('America/New_York')
    const job = new BackupJob({ data, clock, dataDir: dir, keep: 2 })
    // 06:00 UTC is 01:00 in New York: store day 26 November.
    clock.set('2026-11-26T06:00:00Z')
    const first = await job.tick()
    expect(first).toMatchObject({
      file: join(dir, 'backups', 'mida-2026-11-26.sqlite'),
      written: true,
      removed: [],
    })
    expect(sessionsIn(first.file)).toBe(3)
    // Later the same store day: nothing new.
    clock.set('2026-11-27T04:59:00Z')
    expect(await job.tick()).toMatchObject({ written: false, removed: [] })
    // The next store days: a new file each; the oldest goes once there are more than 2.
    clock.set('2026-11-27T05:00:00Z')
    expect(await job.tick()).toMatchObject({
      file: dailyBackupPath(dir, Temporal.PlainDate.from('2026-11-27')),
      written: true,
    })
    clock.set('2026-11-28T12:00:00Z')
    expect(await job.tick()).toMatchObject({ written: true, removed: ['mida-2026-11-26.sqlite'] })
    expect(readdirSync(join(dir, 'backups')).sort()).toEqual([
      'mida-2026-11-27.sqlite',
      'mida-2026-11-28.sqlite',
    ])
  })

  test('a file left half written by a crash is cleaned up; the day is backed up', async () => {
    const { dir, data, clock } = await store('UTC')
    mkdirSync(join(dir, 'backups'))
    writeFileSync(join(dir, 'backups', 'mida-2026-11-26.sqlite.partial'), 'half a file')
    const result = await new BackupJob({ data, clock, dataDir: dir, keep: 7 }).tick()
    expect(result.written).toBe(true)
    expect(readdirSync(join(dir, 'backups'))).toEqual(['mida-2026-11-26.sqlite'])
  })
})

describeSqliteOnly('mida-export backup (SQLite only)', () => {
  test('backup FILE and backup --keep N', async () => {
    const { dir, db } = await store('UTC')
    db.close()
    cleanups.shift()
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const io = captureIo(dir)
    expect(await runCli(['backup', 'one.sqlite', '--data-dir', dir, '--json'], io, clock)).toBe(0)
    expect(JSON.parse(io.stdout())).toMatchObject({
      file: join(dir, 'one.sqlite'),
      integrity_check: 'ok',
    })
    expect(sessionsIn(join(dir, 'one.sqlite'))).toBe(3)

    const again = captureIo(dir)
    expect(await runCli(['backup', 'one.sqlite', '--data-dir', dir], again, clock)).toBe(1)
    expect(again.stderr()).toBe('Error: one.sqlite already exists; choose a new file\n')

    for (const day of ['2026-11-23', '2026-11-24', '2026-11-25']) {
      mkdirSync(join(dir, 'backups'), { recursive: true })
      writeFileSync(join(dir, 'backups', `mida-${day}.sqlite`), 'old')
    }
    const daily = captureIo(dir)
    expect(await runCli(['backup', '--keep', '2', '--data-dir', dir, '--json'], daily, clock)).toBe(
      0,
    )
    expect(JSON.parse(daily.stdout())).toEqual({
      file: join(dir, 'backups', 'mida-2026-11-26.sqlite'),
      bytes: expect.any(Number),
      integrity_check: 'ok',
      removed: ['mida-2026-11-24.sqlite', 'mida-2026-11-23.sqlite'],
    })
    expect(readdirSync(join(dir, 'backups')).sort()).toEqual([
      'mida-2026-11-25.sqlite',
      'mida-2026-11-26.sqlite',
    ])

    const both = captureIo(dir)
    expect(
      await runCli(['backup', 'x.sqlite', '--keep', '2', '--data-dir', dir], both, clock),
    ).toBe(2)
    expect(both.stderr()).toContain('backup takes a FILE or --keep N, not both')
    const zero = captureIo(dir)
    expect(await runCli(['backup', '--keep', '0', '--data-dir', dir], zero, clock)).toBe(2)
    expect(zero.stderr()).toContain('--keep must be at least 1')
  })
})
