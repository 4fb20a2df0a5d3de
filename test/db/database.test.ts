import { afterEach, expect, test } from 'bun:test'
import { join } from 'node:path'
import { BUSY_TIMEOUT_MS, migrate, openDatabaseFile } from '../../src/db/database.ts'
import { MIGRATIONS } from '../../src/db/migrations.ts'
import { tempDir } from '../utils.ts'

const dirs: ReturnType<typeof tempDir>[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup()
})
const fresh = () => {
  const d = tempDir()
  dirs.push(d)
  return openDatabaseFile(join(d.dir, 'test.sqlite'))
}
const pragma = (db: ReturnType<typeof fresh>, name: string) =>
  Object.values(db.query(`PRAGMA ${name}`).get() as Record<string, unknown>)[0]

test('a connection comes configured: WAL, busy timeout, foreign keys, temporaries in memory', () => {
  const db = fresh()
  expect(pragma(db, 'journal_mode')).toBe('wal')
  expect(pragma(db, 'busy_timeout')).toBe(BUSY_TIMEOUT_MS)
  expect(pragma(db, 'foreign_keys')).toBe(1)
  expect(pragma(db, 'synchronous')).toBe(1) // NORMAL
  // Migrations sort into files (an upgrade's index build), then memory is the setting again.
  expect(pragma(db, 'temp_store')).toBe(2) // MEMORY
  expect(pragma(db, 'user_version')).toBe(MIGRATIONS.at(-1)!.version)
  db.close()
})

test('a failing migration is rolled back, named, and leaves the settings as they were', () => {
  const db = fresh()
  const next = MIGRATIONS.at(-1)!.version + 1
  expect(() =>
    migrate(db, [
      { version: next, name: 'broken on purpose', sql: 'CREATE TABLE x (a); SELECT nope' },
    ]),
  ).toThrow(`Migration ${next} (broken on purpose) failed: no such column: nope`)
  expect(db.query("SELECT name FROM sqlite_schema WHERE name = 'x'").get()).toBeNull()
  expect(pragma(db, 'user_version')).toBe(next - 1)
  expect(pragma(db, 'temp_store')).toBe(2)
  expect(db.inTransaction).toBe(false)
  db.close()
})
