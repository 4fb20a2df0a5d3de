// ENGINE-SPECIFIC (SQLite): the bulk load: sessions loaded into an empty store (a first load), or
// many into a few (a large import), in one exclusive transaction, indexes and visitors built once
// at the end. Reached through the
// IngestEngine (src/db/ingest.ts); it does not read the input (domain/ingest/ndjsonImport.ts
// does) and is never used by a server, whose connection is shared.
import { availableParallelism } from 'node:os'
import {
  BUSY_TIMEOUT_MS,
  type Database,
  forgetPartialStatistics,
  isBusy,
  restoreTemporaries,
} from '../database.ts'
import type { WriteCount } from '../ingest.ts'
import { HOUR_MS, MARK_HOUR_SQL, revisionKey } from '../revisions.ts'
import { SESSION_ROW_FIELDS } from '../sessions.ts'
import { nextRevision } from './sessionWriters.ts'

/**
 * The page cache (in KiB, negative as SQLite takes it) during a bulk load. Rows are appended and
 * indexes built by sorting, so a small cache costs no time (1 M sessions: 8.3-9.8 s with 16 MB,
 * 8.7-10.1 s with 64 MB) and keeps memory low (~190 MB at the peak instead of ~240 MB).
 */
const BULK_LOAD_CACHE_SIZE = -16_384

/**
 * An import into sessions already stored is loaded in bulk when it brings at least this share of
 * the rows stored. Rebuilding the indexes costs a few microseconds per row stored; keeping them
 * up to date row by row costs tens per row imported, when the rows come in random order (the
 * realistic 1 M shuffled file into a store of 1 M: ~12 000 rows a second batch by batch).
 */
const BULK_SHARE = 0.2

/**
 * Bytes per session line assumed when an import's size is known and its line count is not: a
 * line with every field is ~250-330 bytes, one with only the required ones ~80.
 */
const BYTES_PER_LINE = 200

/**
 * Rows bound to one INSERT of the load's temporary table: binding values is about three times
 * as fast as SQLite reading the same rows from JSON with json_each (1 M sessions: 2.2 s against
 * 7.2 s), and a statement of many rows pays its fixed cost once.
 */
const ROWS_PER_INSERT = 100

/**
 * Helper threads SQLite may use for one large sort. Two cut the move and the index builds of a
 * 1 M-session load by 10-15 % on two cores, with the other core busy.
 */
const SORT_THREADS = 4

/**
 * A bulk load: sessions imported by a process that has the database to itself, in one
 * transaction, into an empty `sessions` table (a first load) or into one holding fewer than
 * 1 / BULK_SHARE times the rows coming. Rows are appended to a temporary table as they come, then
 * moved into `sessions` sorted by id (a session sent twice, or already stored, is updated: the
 * last copy wins). The table's secondary indexes (and the store's visitors kept from it) are
 * dropped at the start and built once at the end, each by one sort, which is much cheaper than
 * keeping them up to date row by row. If the import fails or is killed, the rollback leaves the
 * tables and every index as they were.
 *
 * "To itself": the load holds the write lock from start to end, and a connection waiting on
 * that lock blocks its whole process (SQLite calls are synchronous), so a running server
 * would freeze. The load therefore takes SQLite's exclusive locking mode, without waiting: it
 * is refused while any other connection has the file open, and the import then writes batch
 * by batch. Granted, it keeps other processes out until the load ends.
 */
export class BulkLoad {
  private readonly indexes: IndexDefinition[]
  private readonly insert
  private readonly insertOne
  private readonly at: number
  /** The connection's own page cache size, given back at the end. */
  private readonly cacheSize: number
  /** The store's sessions before the load. */
  private readonly storedBefore: number
  /** The hours holding a session of the store before the load (each marked changed at the end). */
  private readonly hoursBefore: number[]
  private received = 0

  private constructor(
    private readonly db: Database,
    private readonly storeId: number,
    at: number,
  ) {
    this.storedBefore = db
      .query<{ n: number }, [number]>('SELECT count(*) AS n FROM sessions WHERE store_id = ?')
      .get(storeId)!.n
    // Read while sessions_by_start exists: a session the load moves leaves its old hour changed.
    this.hoursBefore = this.storedBefore > 0 ? this.hoursWithSessions() : []
    // The indexes' own definitions, so they come back exactly as the migrations made them.
    this.indexes = db
      .query<IndexDefinition, []>(
        `SELECT name, tbl_name AS "table", sql FROM sqlite_schema
         WHERE type = 'index' AND tbl_name IN ('sessions', 'visitors') AND sql IS NOT NULL`,
      )
      .all()
    for (const index of this.indexes) db.exec(`DROP INDEX "${index.name}"`)
    db.query('DELETE FROM visitors WHERE store_id = ?').run(storeId)
    // Rows arrive in any order; they are appended to a temporary table first, then moved into
    // `sessions` sorted by id (finish), so that its primary key is appended to, not searched at
    // random for every row. Temporaries are on disk for the whole load (begin, release).
    const columns = SESSION_ROW_FIELDS.join(', ')
    db.exec(`CREATE TEMP TABLE bulk_load_rows AS SELECT ${columns} FROM sessions WHERE false`)
    const row = `(${SESSION_ROW_FIELDS.map(() => '?').join(', ')})`
    this.insert = db.query(
      `INSERT INTO bulk_load_rows (${columns}) VALUES ${Array(ROWS_PER_INSERT).fill(row).join(', ')}`,
    )
    this.insertOne = db.query(`INSERT INTO bulk_load_rows (${columns}) VALUES ${row}`)
    this.at = at
    // Last, once nothing here can fail: release() gives it back.
    this.cacheSize = db.query<{ cache_size: number }, []>('PRAGMA cache_size').get()!.cache_size
    db.exec(`PRAGMA cache_size = ${BULK_LOAD_CACHE_SIZE}`)
    // Large sorts (the move by id, each index) may use a helper thread per core.
    db.exec(`PRAGMA threads = ${Math.min(SORT_THREADS, availableParallelism())}`)
  }

  /**
   * Starts a bulk load, or returns null (having changed nothing) when another connection has the
   * database open, or when sessions are stored and the import is not known to bring at least
   * BULK_SHARE of their number (`expectedBytes`: the input's size, when it is a file).
   */
  static begin(
    db: Database,
    storeId: number,
    at: number,
    expectedBytes: number | null,
  ): BulkLoad | null {
    const worthIt = () => {
      // Every store's rows: the indexes rebuilt hold them all. The last rowid bounds their number.
      const stored = db
        .query<{ n: number | null }, []>('SELECT max(rowid) AS n FROM sessions')
        .get()!.n
      if (stored === null) return true
      return expectedBytes !== null && expectedBytes / BYTES_PER_LINE >= stored * BULK_SHARE
    }
    if (!worthIt()) return null
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
      if (!worthIt()) {
        db.exec('ROLLBACK')
        restoreTemporaries(db)
        releaseExclusive(db)
        return null
      }
      return new BulkLoad(db, storeId, at)
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
    const storedAfter = db
      .query<{ n: number }, [number]>('SELECT count(*) AS n FROM sessions WHERE store_id = ?')
      .get(storeId)!.n
    const inserted = storedAfter - this.storedBefore
    if (this.received > 0) this.markHours()
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
         SELECT ?1, ${columns}, ?2 FROM bulk_load_rows WHERE true ORDER BY id, rowid
         ON CONFLICT (store_id, id) DO UPDATE SET ${updates}, updated_at = excluded.updated_at`,
      )
      .run(this.storeId, this.at)
    this.db.exec('DROP TABLE bulk_load_rows')
  }

  /**
   * The indexes, then visitors from sessions_by_visitor (in order), then visitors' own index.
   * Building an index sorts every row. Its sorter holds up to a page cache's worth in memory
   * and spills the rest to temporary files (on disk for the whole load: begin), so memory stays
   * the same however large the load (measured in bench/import.ts).
   */
  private buildIndexes(): void {
    const { db } = this
    for (const index of this.indexes.filter((i) => i.table === 'sessions')) db.exec(index.sql)
    db.query(
      `INSERT INTO visitors (store_id, id, first_seen_at, last_seen_at)
       SELECT store_id, visitor_id, min(started_at), max(ended_at) FROM sessions
       WHERE store_id = ? GROUP BY store_id, visitor_id`,
    ).run(this.storeId)
    for (const index of this.indexes.filter((i) => i.table === 'visitors')) db.exec(index.sql)
  }

  /**
   * Marks every hour that held a session of the store before the load or holds one after it as
   * changed: every row written, and the old hour of every row moved, is in one of them.
   */
  private markHours(): void {
    const { db, storeId } = this
    const revision = nextRevision(db, storeId)
    const mark = db.query(MARK_HOUR_SQL)
    for (const hour of new Set([...this.hoursBefore, ...this.hoursWithSessions()])) {
      mark.run(storeId, hour, revision)
    }
  }

  /**
   * The hours holding a session of the store, each found with one seek on sessions_by_start: a
   * GROUP BY on the hour would sort every session, with memory in proportion to the load (a
   * 4 M-session load peaked at 298 MB so).
   */
  private hoursWithSessions(): number[] {
    const { db, storeId } = this
    const next = db.query<{ t: number | null }, [number, number]>(
      'SELECT min(started_at) AS t FROM sessions WHERE store_id = ? AND started_at >= ?',
    )
    const hours: number[] = []
    let t = next.get(storeId, Number.MIN_SAFE_INTEGER)!.t
    while (t !== null) {
      const hour = Math.floor(t / HOUR_MS)
      hours.push(hour)
      t = next.get(storeId, (hour + 1) * HOUR_MS)!.t
    }
    return hours
  }

  /** Rolls the load back (the indexes come back with it) and lets other processes in. */
  abort(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK')
    this.release()
  }

  /** The connection as it was: its page cache, and no longer exclusive. */
  private release(): void {
    this.db.exec('PRAGMA threads = 0')
    this.db.exec('DROP TABLE IF EXISTS temp.bulk_load_rows')
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
