import { SQLiteError, Database as SqliteDatabase } from 'bun:sqlite'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Secrets } from '../domain/secrets.ts'
import { type Data, SqliteData } from './data.ts'
import {
  BACKUP_DIR,
  createPrivateFile,
  describeTightened,
  ensurePrivateDir,
  tightenPermissions,
} from './files.ts'
import { MIGRATIONS, type Migration } from './migrations.ts'
import { PgData } from './postgres/data.ts'
import { ReadCache } from './readCache.ts'

/**
 * One open connection and what belongs to it alone: its read cache (which watches this
 * connection's data_version), the secrets it seals and opens settings with, and the count of
 * session batches written through it. Nothing is kept beside it in a module: two connections,
 * two of each.
 */
export class Database extends SqliteDatabase {
  /** Memoised rarely-changing reads (settings, API keys, revisions), dropped on any change. */
  readonly cache: ReadCache
  /**
   * Session batches written on this connection: a change signal for in-memory copies of
   * sessions (the tracker's open sessions) that another path of this process may have made stale.
   */
  sessionWrites = 0

  constructor(
    path: string,
    /** MIDA_SECRET_KEY's sealing: given when the connection is opened, so it cannot be forgotten. */
    readonly secrets: Secrets,
  ) {
    super(path, { create: true, strict: true })
    const dataVersion = this.query<{ data_version: number }, []>('PRAGMA data_version')
    this.cache = new ReadCache({
      inTransaction: () => this.inTransaction,
      // Moves when another connection commits (a CLI run beside the server).
      version: () => dataVersion.get()?.data_version ?? -1,
    })
  }

  /** The file, not the cache's loop back to this connection (Elysia hashes plugin seeds as JSON). */
  toJSON(): { filename: string } {
    return { filename: this.filename }
  }
}

/** What opening a database needs: the secret key (undefined only when none is configured). */
export interface OpenOptions {
  secretKey: string | undefined
  /** Told, in one line, about files whose permissions were tightened. */
  log?: (line: string) => void
}

/** The database file's name inside the data directory. */
export const DATABASE_FILE = 'mida.sqlite'

/**
 * Where SQLite keeps temporary tables and sort spills; migrations and a first load's index
 * builds use files instead.
 */
const TEMP_STORE = 'MEMORY'

/** How long a connection waits for another process's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 5000

/**
 * True for SQLite's "database is locked" (SQLITE_BUSY and its extended codes): another process
 * held the lock past the busy timeout. Temporary: worth a retry, not a crash report.
 */
export function isBusy(error: unknown): boolean {
  return error instanceof SQLiteError && (error.errno & 0xff) === 5
}

/** Sets the pragmas every connection needs; the one place they are chosen. */
function configure(db: Database): void {
  // First, so that even switching to WAL waits for a process that holds the file a moment
  // (a CLI import while the server runs; a first load, which holds it to itself).
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA foreign_keys = ON')
  // With WAL, NORMAL is durable across application crashes and much faster than FULL.
  db.exec('PRAGMA synchronous = NORMAL')
  db.exec(`PRAGMA temp_store = ${TEMP_STORE}`)
}

/**
 * Runs `work` with SQLite's sort spills and temporaries in files instead of memory, then puts the
 * setting back: for index builds over every session (a migration, VACUUM), whose memory would
 * otherwise grow with the table. A bulk load keeps them on disk for its whole transaction.
 */
function withTemporariesOnDisk<T>(db: Database, work: () => T): T {
  try {
    db.exec('PRAGMA temp_store = FILE')
    return work()
  } finally {
    restoreTemporaries(db)
  }
}

/** Temporaries back where a connection keeps them (after a bulk load kept them on disk). */
export function restoreTemporaries(db: Database): void {
  db.exec(`PRAGMA temp_store = ${TEMP_STORE}`)
}

/** What `replaceLeavingNoCopy` did besides its change. */
export interface NoCopyResult<T> {
  result: T
  /** False when another connection kept the checkpoint from emptying the WAL (see below). */
  walEmptied: boolean
  /** Where old copies may still be, when the engine cannot remove them all (PostgreSQL). */
  leftover?: string
}

/**
 * Runs `change`, a write that replaces values of which no copy may survive in the files, and
 * removes every earlier copy of them. SQLite keeps replaced bytes: in free pages, in the unused
 * part of pages in use, and in the WAL. So VACUUM first rebuilds the file from its live rows
 * (nothing else is left), `change` then runs with `secure_delete` on (the bytes it replaces are
 * zeroed), and a TRUNCATE checkpoint writes the pages into the file and empties the WAL, which
 * held the earlier versions of those pages. The cost is VACUUM's: the whole file is rewritten
 * (time in proportion to its size), with a temporary copy on disk and a WAL growing to about the
 * file's size until the checkpoint. The checkpoint waits up to the busy timeout for other
 * connections' reads; `walEmptied` is false when one still held an older snapshot, and the old
 * pages then go at a later checkpoint.
 */
export async function replaceLeavingNoCopy<T>(
  data: Data,
  change: () => Promise<T>,
): Promise<NoCopyResult<T>> {
  if (data instanceof PgData) {
    // PostgreSQL: the table holding the secrets is rewritten after the change (VACUUM FULL
    // keeps no dead row version); its write-ahead log is the server's to recycle.
    const result = await change()
    await data.sql.unsafe('VACUUM FULL store_settings')
    return {
      result,
      walEmptied: false,
      leftover:
        "PostgreSQL's write-ahead log (and any archive or replica of it) keeps old copies until the server recycles it",
    }
  }
  // Engine-specific: SQLite's files. Each step waits for an open transaction to end.
  if (!(data instanceof SqliteData)) throw new Error('replaceLeavingNoCopy: not a SQLite engine')
  const exclusive = <R>(write: (db: Database) => R) => data.exclusive(write)
  // The copy VACUUM builds can be as large as the store: in a temporary file, not in memory.
  await exclusive((db) => withTemporariesOnDisk(db, () => db.exec('VACUUM')))
  const before = await exclusive(
    (db) => db.query<{ secure_delete: number }, []>('PRAGMA secure_delete').get()?.secure_delete,
  )
  let result: T
  try {
    await exclusive((db) => db.exec('PRAGMA secure_delete = ON'))
    result = await change()
  } finally {
    await exclusive((db) => db.exec(`PRAGMA secure_delete = ${before ?? 0}`))
  }
  const checkpoint = await exclusive((db) =>
    db.query<{ busy: number }, []>('PRAGMA wal_checkpoint(TRUNCATE)').get(),
  )
  return { result, walEmptied: checkpoint?.busy === 0 }
}

/** Applies every migration newer than the file's `user_version`, each in its own transaction. */
export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number {
  // A migration may build an index over every session (an upgrade of a large store).
  const applied = withTemporariesOnDisk(db, () => {
    let count = 0
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
        count++
      } catch (err) {
        db.exec('ROLLBACK')
        throw new Error(`Migration ${m.version} (${m.name}) failed: ${(err as Error).message}`)
      }
    }
    return count
  })
  // At every open, not only after a migration ran: a database upgraded before this check
  // existed is mended too. Cheap when there is nothing to drop (one lookup).
  forgetPartialStatistics(db)
  return applied
}

/**
 * Drops the query planner's statistics (from an ANALYZE someone ran) of every table that has an
 * index without any: an index rebuilt by a migration or a first load loses its row, and with the
 * others kept the planner misjudged it (a weekly sync scanned sessions_by_visitor: 1.1 s instead
 * of 0.4). Without statistics a table is planned as in a new database, as the tests check.
 */
export function forgetPartialStatistics(db: Database): void {
  if (!db.query("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").get()) return
  const { changes } = db
    .query(
      `DELETE FROM sqlite_stat1 WHERE tbl IN (
         SELECT i.tbl_name FROM sqlite_schema i
         WHERE i.type = 'index' AND i.tbl_name IN (SELECT tbl FROM sqlite_stat1)
           AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 s WHERE s.idx = i.name))`,
    )
    .run()
  // The planner reads the statistics when it loads the schema: have it read them again now.
  if (changes > 0) db.exec('ANALYZE sqlite_schema')
}

/** The files SQLite keeps next to the database: WAL, shared memory, rollback journal. */
const SIDECARS = ['-wal', '-shm', '-journal']

/**
 * Opens (creating if needed) the data directory's database, configured and migrated. The
 * directory is made 0700 and the database file 0600 before SQLite opens it (its WAL and
 * shared-memory files take that mode); an existing directory, database or backup that other
 * users can read is tightened, and `log` told so in one line.
 */
export function openDatabase(dataDir: string, options: OpenOptions): Database {
  ensurePrivateDir(dataDir)
  const file = join(dataDir, DATABASE_FILE)
  const backups = join(dataDir, BACKUP_DIR)
  const backupFiles = existsSync(backups)
    ? readdirSync(backups, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(backups, entry.name))
    : []
  const tightened = tightenPermissions(
    [dataDir, backups],
    [file, ...SIDECARS.map((suffix) => file + suffix), ...backupFiles],
  )
  const line = describeTightened(dataDir, tightened)
  if (line) options.log?.(line)
  createPrivateFile(file)
  return openDatabaseFile(file, options)
}

/** Opens a database file by path (`:memory:` works too), configured and migrated. */
export function openDatabaseFile(path: string, options: OpenOptions): Database {
  const db = new Database(path, new Secrets(options.secretKey))
  configure(db)
  migrate(db)
  return db
}
