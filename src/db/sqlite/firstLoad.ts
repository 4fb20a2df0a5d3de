// ENGINE-SPECIFIC (SQLite): the first load: sessions bulk-loaded into an empty store in one
// exclusive transaction, indexes and visitors built once at the end. Reached through the
// IngestEngine (src/db/ingest.ts); it does not read the input (domain/ingest/ndjsonImport.ts
// does) and is never used by a server, whose connection is shared.
import {
  BUSY_TIMEOUT_MS,
  type Database,
  forgetPartialStatistics,
  isBusy,
  restoreTemporaries,
  withTemporariesOnDisk,
} from '../database.ts'
import type { WriteCount } from '../ingest.ts'
import { HOUR_MS, MARK_HOUR_SQL, revisionKey } from '../revisions.ts'
import { SESSION_ROW_FIELDS } from '../sessions.ts'
import { nextRevision } from './sessionWriters.ts'

/**
 * The page cache (in KiB, negative as SQLite takes it) during a first load. Rows are appended and
 * indexes built by sorting, so a small cache costs no time (1 M sessions: 8.3-9.8 s with 16 MB,
 * 8.7-10.1 s with 64 MB) and keeps memory low (~190 MB at the peak instead of ~240 MB).
 */
const FIRST_LOAD_CACHE_SIZE = -16_384

/**
 * Rows bound to one INSERT of the load's temporary table: binding values is about three times
 * as fast as SQLite reading the same rows from JSON with json_each (1 M sessions: 2.2 s against
 * 7.2 s), and a statement of many rows pays its fixed cost once.
 */
const ROWS_PER_INSERT = 100

/**
 * A first load: sessions imported into an empty `sessions` table by a process that has the
 * database to itself, in one transaction. The table's secondary indexes (and the visitors kept
 * from it) are dropped at the start and built once at the end, each by one sort, which is much
 * cheaper than keeping them up to date row by row. If the import fails or is killed, the
 * rollback leaves the empty tables and every index as they were.
 *
 * "To itself": the load holds the write lock from start to end, and a connection waiting on
 * that lock blocks its whole process (SQLite calls are synchronous), so a running server
 * would freeze. The load therefore takes SQLite's exclusive locking mode, without waiting: it
 * is refused while any other connection has the file open, and the import then writes batch
 * by batch. Granted, it keeps other processes out until the load ends.
 */
export class FirstLoad {
  private readonly indexes: IndexDefinition[]
  private readonly insert
  private readonly insertOne
  private readonly at: number
  /** The connection's own page cache size, given back at the end. */
  private readonly cacheSize: number
  private received = 0

  private constructor(
    private readonly db: Database,
    private readonly storeId: number,
    at: number,
  ) {
    // The indexes' own definitions, so they come back exactly as the migrations made them.
    this.indexes = db
      .query<IndexDefinition, []>(
        `SELECT name, tbl_name AS "table", sql FROM sqlite_schema
         WHERE type = 'index' AND tbl_name IN ('sessions', 'visitors') AND sql IS NOT NULL`,
      )
      .all()
    for (const index of this.indexes) db.exec(`DROP INDEX "${index.name}"`)
    db.exec('DELETE FROM visitors')
    // Rows arrive in any order; they are appended to a temporary table first, then moved into
    // `sessions` sorted by id (finish), so that its primary key is appended to, not searched at
    // random for every row. Temporaries are on disk for the whole load (begin, release).
    const columns = SESSION_ROW_FIELDS.join(', ')
    db.exec(`CREATE TEMP TABLE first_load_rows AS SELECT ${columns} FROM sessions WHERE false`)
    const row = `(${SESSION_ROW_FIELDS.map(() => '?').join(', ')})`
    this.insert = db.query(
      `INSERT INTO first_load_rows (${columns}) VALUES ${Array(ROWS_PER_INSERT).fill(row).join(', ')}`,
    )
    this.insertOne = db.query(`INSERT INTO first_load_rows (${columns}) VALUES ${row}`)
    this.at = at
    // Last, once nothing here can fail: release() gives it back.
    this.cacheSize = db.query<{ cache_size: number }, []>('PRAGMA cache_size').get()!.cache_size
    db.exec(`PRAGMA cache_size = ${FIRST_LOAD_CACHE_SIZE}`)
  }

  /**
   * Starts a first load, or returns null (having changed nothing) when sessions are stored
   * already or another connection has the database open.
   */
  static begin(db: Database, storeId: number, at: number): FirstLoad | null {
    if (db.query('SELECT 1 FROM sessions LIMIT 1').get() !== null) return null
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    // Before the transaction: inside one, SQLite refuses to move temporaries once the
    // connection's temp database is open (a temp table or an integrity check opens it).
    db.exec('PRAGMA temp_store = FILE')
    try {
      db.exec('BEGIN EXCLUSIVE')
    } catch (err) {
      restoreTemporaries(db)
      releaseExclusive(db)
      if (isBusy(err)) return null
      throw err
    } finally {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    }
    try {
      // Checked again under the lock: another process may have written since.
      if (db.query('SELECT 1 FROM sessions LIMIT 1').get() !== null) {
        db.exec('ROLLBACK')
        restoreTemporaries(db)
        releaseExclusive(db)
        return null
      }
      return new FirstLoad(db, storeId, at)
    } catch (err) {
      db.exec('ROLLBACK')
      restoreTemporaries(db)
      releaseExclusive(db)
      throw err
    }
  }

  /** Writes sessions given as JSON rows (sessionRows): appended, in the order they came. */
  write(rows: { json: string; count: number }): void {
    if (rows.count === 0) return
    const values = JSON.parse(rows.json) as (string | number)[]
    const width = SESSION_ROW_FIELDS.length
    const many = ROWS_PER_INSERT * width
    let at = 0
    for (; at + many <= values.length; at += many) this.insert.run(...values.slice(at, at + many))
    for (; at < values.length; at += width) this.insertOne.run(...values.slice(at, at + width))
    this.received += rows.count
  }

  /** Builds the indexes and visitors, marks every hour written as changed, and commits. */
  finish(): WriteCount {
    const { db, storeId } = this
    this.moveRows()
    this.buildIndexes()
    // The table was empty: every row in it is new.
    const { inserted } = db
      .query<{ inserted: number }, []>('SELECT count(*) AS inserted FROM sessions')
      .get()!
    if (inserted > 0) this.markEveryHour()
    forgetPartialStatistics(db)
    db.exec('COMMIT')
    // Forgotten again: a read between the bump and the commit could have cached the old value.
    db.cache.forget(revisionKey(storeId))
    db.sessionWrites++
    // The whole load went through the WAL: give that space back while no one else can read.
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    this.release()
    return { inserted, updated: this.received - inserted }
  }

  /**
   * The rows received, into `sessions` in primary key order. A session sent twice is updated, as
   * on the batched path: its copies come in the order they were received, the last one wins.
   */
  private moveRows(): void {
    const columns = SESSION_ROW_FIELDS.join(', ')
    const updates = SESSION_ROW_FIELDS.filter((column) => column !== 'id')
      .map((column) => `${column} = excluded.${column}`)
      .join(', ')
    this.db
      .query(
        `INSERT INTO sessions (store_id, ${columns}, updated_at)
         SELECT ?1, ${columns}, ?2 FROM first_load_rows WHERE true ORDER BY id, rowid
         ON CONFLICT (store_id, id) DO UPDATE SET ${updates}, updated_at = excluded.updated_at`,
      )
      .run(this.storeId, this.at)
    this.db.exec('DROP TABLE first_load_rows')
  }

  /**
   * The indexes, then visitors from sessions_by_visitor (in order), then visitors' own index.
   * Building an index sorts every row. Its sorter holds up to a page cache's worth in memory
   * and spills the rest to temporary files: kept on disk, memory stays the same however large
   * the load (measured in bench/import.ts).
   */
  private buildIndexes(): void {
    const { db } = this
    withTemporariesOnDisk(db, () => {
      for (const index of this.indexes.filter((i) => i.table === 'sessions')) db.exec(index.sql)
      db.query(
        `INSERT INTO visitors (store_id, id, first_seen_at, last_seen_at)
         SELECT store_id, visitor_id, min(started_at), max(ended_at) FROM sessions
         GROUP BY store_id, visitor_id`,
      ).run()
      for (const index of this.indexes.filter((i) => i.table === 'visitors')) db.exec(index.sql)
    })
  }

  /**
   * Marks every hour holding a session as changed (the table was empty before). Hour by hour,
   * each found with one seek on sessions_by_start: a GROUP BY on the hour would sort every
   * session, with memory in proportion to the load (a 4 M-session load peaked at 298 MB so).
   */
  private markEveryHour(): void {
    const { db, storeId } = this
    const revision = nextRevision(db, storeId)
    const next = db.query<{ t: number | null }, [number, number]>(
      'SELECT min(started_at) AS t FROM sessions WHERE store_id = ? AND started_at >= ?',
    )
    const mark = db.query(MARK_HOUR_SQL)
    let t = next.get(storeId, Number.MIN_SAFE_INTEGER)!.t
    while (t !== null) {
      const hour = Math.floor(t / HOUR_MS)
      mark.run(storeId, hour, revision)
      t = next.get(storeId, (hour + 1) * HOUR_MS)!.t
    }
  }

  /** Rolls the load back (the indexes come back with it) and lets other processes in. */
  abort(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK')
    this.release()
  }

  /** The connection as it was: its page cache, and no longer exclusive. */
  private release(): void {
    this.db.exec('DROP TABLE IF EXISTS temp.first_load_rows')
    restoreTemporaries(this.db)
    this.db.exec(`PRAGMA cache_size = ${this.cacheSize}`)
    releaseExclusive(this.db)
  }
}

/** An index as the migrations created it. */
interface IndexDefinition {
  name: string
  table: string
  sql: string
}

/** Leaves SQLite's exclusive locking mode: the lock goes at the next read. */
function releaseExclusive(db: Database): void {
  db.exec('PRAGMA locking_mode = NORMAL')
  db.query('SELECT 1 FROM sqlite_schema LIMIT 1').get()
}
