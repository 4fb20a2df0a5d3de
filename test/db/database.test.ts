// SQLite's connection: its PRAGMAs, its migration runner and its planner statistics.
import { afterEach, expect } from 'bun:test'
import { join } from 'node:path'
import { BUSY_TIMEOUT_MS, migrate, openDatabaseFile } from '../../src/db/database.ts'
import { MIGRATIONS } from '../../src/db/migrations.ts'
import { sqliteOnly, tempDir } from '../utils.ts'

const dirs: ReturnType<typeof tempDir>[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup()
})
const fresh = () => {
  const d = tempDir()
  dirs.push(d)
  return openDatabaseFile(join(d.dir, 'test.sqlite'), { secretKey: undefined })
}
const pragma = (db: ReturnType<typeof fresh>, name: string) =>
  Object.values(db.query(`PRAGMA ${name}`).get() as Record<string, unknown>)[0]

sqliteOnly(
  'a connection comes configured: WAL, busy timeout, foreign keys, temporaries in memory (SQLite only)',
  () => {
    const db = fresh()
    expect(pragma(db, 'journal_mode')).toBe('wal')
    expect(pragma(db, 'busy_timeout')).toBe(BUSY_TIMEOUT_MS)
    expect(pragma(db, 'foreign_keys')).toBe(1)
    expect(pragma(db, 'synchronous')).toBe(1) // NORMAL
    // Migrations sort into files (an upgrade's index build), then memory is the setting again.
    expect(pragma(db, 'temp_store')).toBe(2) // MEMORY
    expect(pragma(db, 'user_version')).toBe(MIGRATIONS.at(-1)!.version)
    db.close()
  },
)

sqliteOnly(
  'a failing migration is rolled back, named, and leaves the settings as they were (SQLite only)',
  () => {
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
  },
)

sqliteOnly(
  'statistics left with a hole by a rebuilt index are dropped for that table, and replanned (SQLite only)',
  () => {
    const db = fresh()
    db.exec("INSERT INTO stores (id, tracking_id, created_at) VALUES (1, 't', 0)")
    const insert = db.query(
      `INSERT INTO sessions (store_id, id, visitor_id, started_at, ended_at, pageviews, device,
       source, landing_page, viewed_product, added_to_cart, reached_checkout, updated_at)
     VALUES (1, ?, ?, ?, ?, 1, 'desktop', 'direct', '/', 0, 0, 0, 0)`,
    )
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`s${i}`, `v${i % 300}`, i * 60_000, i * 60_000)
    })()
    db.exec('ANALYZE')
    const plan = () => {
      // Prepared and finalized each time: a statement kept open would lock the table's schema.
      const statement = db.prepare(
        'EXPLAIN QUERY PLAN SELECT count(DISTINCT visitor_id) FROM sessions WHERE store_id = 1 AND started_at >= ? AND started_at < ?',
      )
      const details = (statement.all(0, 3_600_000) as { detail: string }[]).map((r) => r.detail)
      statement.finalize()
      return details
    }
    const statTables = () =>
      (
        db.query('SELECT DISTINCT tbl FROM sqlite_stat1 ORDER BY tbl').all() as { tbl: string }[]
      ).map((r) => r.tbl)
    expect(statTables()).toContain('sessions')
    expect(plan().join(' ')).toContain('sessions_by_start')
    // A later migration rebuilds an index of sessions (as migration 7 did): its statistics go.
    const next = MIGRATIONS.at(-1)!.version + 1
    migrate(db, [
      {
        version: next,
        name: 'rebuild an index',
        sql: `DROP INDEX sessions_by_visitor;
            CREATE INDEX sessions_by_visitor ON sessions (store_id, visitor_id, started_at, ended_at)`,
      },
    ])
    expect(statTables()).not.toContain('sessions')
    expect(statTables()).toContain('stores')
    expect(plan().join(' ')).toContain('sessions_by_start')
    db.close()
  },
)
