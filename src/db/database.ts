import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS, type Migration } from './migrations.ts'

export type { Database }

/** The database file's name inside the data directory. */
export const DATABASE_FILE = 'mida.sqlite'

/** Where SQLite keeps temporary tables and sort spills; a first load changes it for a while. */
export const TEMP_STORE = 'MEMORY'

/** Sets the pragmas every connection needs; the one place they are chosen. */
function configure(db: Database): void {
  db.exec('PRAGMA journal_mode = WAL')
  // Another process (a CLI import while the server runs) may hold the write lock for a moment.
  db.exec('PRAGMA busy_timeout = 5000')
  db.exec('PRAGMA foreign_keys = ON')
  // With WAL, NORMAL is durable across application crashes and much faster than FULL.
  db.exec('PRAGMA synchronous = NORMAL')
  db.exec(`PRAGMA temp_store = ${TEMP_STORE}`)
}

/** Applies every migration newer than the file's `user_version`, each in its own transaction. */
export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number {
  let applied = 0
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    // BEGIN IMMEDIATE so two processes starting together apply each migration once.
    db.exec('BEGIN IMMEDIATE')
    try {
      const current = (db.query('PRAGMA user_version').get() as { user_version: number })
        .user_version
      if (current >= m.version) {
        db.exec('COMMIT')
        continue
      }
      db.exec(m.sql)
      db.exec(`PRAGMA user_version = ${m.version}`)
      db.exec('COMMIT')
      applied++
    } catch (err) {
      db.exec('ROLLBACK')
      throw new Error(`Migration ${m.version} (${m.name}) failed: ${(err as Error).message}`)
    }
  }
  return applied
}

/** Opens (creating if needed) the data directory's database, configured and migrated. */
export function openDatabase(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true })
  return openDatabaseFile(join(dataDir, DATABASE_FILE))
}

/** Opens a database file by path (`:memory:` works too), configured and migrated. */
export function openDatabaseFile(path: string): Database {
  const db = new Database(path, { create: true, strict: true })
  configure(db)
  migrate(db)
  return db
}
