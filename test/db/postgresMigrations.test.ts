// PostgreSQL's migration runner (src/db/postgres/migrations.ts): what database.test.ts holds
// SQLite's to, on the PostgreSQL side.
import { afterEach, expect } from 'bun:test'
import { SQL } from 'bun'
import { MIGRATIONS } from '../../src/db/migrations.ts'
import { migratePostgres, schemaVersion } from '../../src/db/postgres/migrations.ts'
import { postgresOnly, testDatabaseUrl } from '../utils.ts'

const open: SQL[] = []
afterEach(async () => {
  for (const sql of open.splice(0)) await sql.close()
})

/** A connection pool on a fresh, migrated database of the test cluster. */
async function fresh(url?: string): Promise<{ sql: SQL; url: string }> {
  const at = url ?? (await testDatabaseUrl())
  const sql = new SQL({ url: at, max: 2 })
  open.push(sql)
  return { sql, url: at }
}

const LATEST = MIGRATIONS.at(-1)!.version

postgresOnly(
  'a migrated database is at the latest version; migrating again applies nothing (PostgreSQL only)',
  async () => {
    const { sql } = await fresh()
    expect(await schemaVersion(sql)).toBe(LATEST)
    expect(await migratePostgres(sql)).toBe(0)
    expect(await schemaVersion(sql)).toBe(LATEST)
  },
)

postgresOnly(
  'a failing migration is rolled back, named, and leaves the version as it was (PostgreSQL only)',
  async () => {
    const { sql } = await fresh()
    const next = LATEST + 1
    await expect(
      migratePostgres(sql, [
        { version: next, name: 'broken on purpose', sql: 'CREATE TABLE x (a int); SELECT nope' },
      ]),
    ).rejects.toThrow(`Migration ${next} (broken on purpose) failed: column "nope" does not exist`)
    const [table] = await sql.unsafe("SELECT to_regclass('x') IS NULL AS gone")
    expect(table.gone).toBe(true)
    expect(await schemaVersion(sql)).toBe(LATEST)
  },
)

postgresOnly('nodes migrating together apply a new migration once (PostgreSQL only)', async () => {
  const { sql, url } = await fresh()
  const other = (await fresh(url)).sql
  const next = LATEST + 1
  const migration = {
    version: next,
    name: 'counted',
    sql: 'CREATE TABLE applied (n int); INSERT INTO applied VALUES (1)',
  }
  const counts = await Promise.all([
    migratePostgres(sql, [migration]),
    migratePostgres(other, [migration]),
  ])
  expect(counts.sort()).toEqual([0, 1])
  expect(await sql.unsafe('SELECT n FROM applied')).toEqual([{ n: 1 }])
  expect(await schemaVersion(other)).toBe(next)
})
