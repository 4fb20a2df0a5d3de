// Opening the data layer on the configured engine: SQLite in the data directory by default,
// PostgreSQL when MIDA_DATABASE_URL (--database-url) names one.
import { SQL } from 'bun'
import { Secrets } from '../domain/secrets.ts'
import { type Data, SqliteData } from './data.ts'
import { openDatabase } from './database.ts'
import { PgData } from './postgres/data.ts'
import { migratePostgres, schemaVersion } from './postgres/migrations.ts'

export interface OpenDataOptions {
  /** The data directory (SQLite's file, backups). */
  dataDir: string
  /** postgres://… to run on PostgreSQL; undefined for SQLite. */
  databaseUrl: string | undefined
  secretKey: string | undefined
  /** Told about start-up repairs, one line each. */
  log?: (line: string) => void
  /** False: open without migrating (`db copy` checks a target's version itself). Default true. */
  migrate?: boolean
}

/** Connections a node keeps to PostgreSQL at most (Bun.sql's pool). */
const POOL_SIZE = 10

/** A PostgreSQL URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(an unreadable URL)'
  }
}

/** Opens, configures and migrates the configured database. */
export async function openData(options: OpenDataOptions): Promise<Data> {
  if (!options.databaseUrl) {
    const db = openDatabase(options.dataDir, { secretKey: options.secretKey, log: options.log })
    return new SqliteData(db)
  }
  const sql = new SQL({ url: options.databaseUrl, max: POOL_SIZE, idleTimeout: 30 })
  try {
    await sql.unsafe('SELECT 1')
  } catch (err) {
    await sql.close()
    throw new Error(
      `Cannot reach PostgreSQL at ${redactUrl(options.databaseUrl)}: ${(err as Error).message}`,
    )
  }
  try {
    if (options.migrate !== false) await migratePostgres(sql)
  } catch (err) {
    await sql.close()
    throw err
  }
  return new PgData(sql, new Secrets(options.secretKey))
}

/** The newest migration applied to an open database, on either engine. */
export async function schemaVersionOf(data: Data): Promise<number> {
  if (data instanceof PgData) return await schemaVersion(data.sql)
  if (data instanceof SqliteData)
    return (data.db.query('PRAGMA user_version').get() as { user_version: number }).user_version
  throw new Error(`No schema version for ${data.engine}`)
}
