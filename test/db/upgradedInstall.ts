// An installation made by an older version, then upgraded: a database of this run's engine
// migrated up to one version, holding the rows that version wrote, then migrated to the latest.
// The migration tests (migration11, migrations13And14) open it to check that nothing was lost.
import { join } from 'node:path'
import { SQL } from 'bun'
import { Database, migrate } from '../../src/db/database.ts'
import { MIGRATIONS } from '../../src/db/migrations.ts'
import { migratePostgres, postgresMigrations } from '../../src/db/postgres/migrations.ts'
import { Secrets } from '../../src/domain/secrets.ts'
import { onPostgres, tempDir, testDatabaseUrl } from '../utils.ts'

export interface UpgradedInstall {
  dataDir: string
  databaseUrl: string | undefined
  cleanup: () => void
}

/**
 * A database at `version` holding `rows` (SQL inserts, written as that version's own code
 * would), then migrated to the latest. `sequencesMovedOn`: on PostgreSQL, the tables whose id
 * sequence is moved past the rows (as the version's own inserts would have left it; rows that
 * name their ids leave it behind otherwise).
 */
export async function upgradedInstall(
  version: number,
  rows: readonly string[],
  sequencesMovedOn: readonly string[] = [],
): Promise<UpgradedInstall> {
  const { dir, cleanup } = tempDir()
  const old = MIGRATIONS.filter((m) => m.version <= version)
  if (onPostgres) {
    const databaseUrl = await testDatabaseUrl()
    const sql = new SQL({ url: databaseUrl, max: 1 })
    try {
      // The test database comes migrated: start again from an empty one.
      await sql.unsafe('DROP SCHEMA public CASCADE; CREATE SCHEMA public')
      await migratePostgres(sql, postgresMigrations(old))
      for (const row of rows) await sql.unsafe(row)
      for (const table of sequencesMovedOn) {
        await sql.unsafe(
          `SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`,
        )
      }
      await migratePostgres(sql)
    } finally {
      await sql.close()
    }
    return { dataDir: dir, databaseUrl, cleanup }
  }
  const db = new Database(join(dir, 'mida.sqlite'), new Secrets(undefined))
  try {
    migrate(db, old)
    for (const row of rows) db.exec(row)
    migrate(db)
  } finally {
    db.close()
  }
  return { dataDir: dir, databaseUrl: undefined, cleanup }
}
