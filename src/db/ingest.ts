// The ingest engine: the bulk writers of the hot paths (the bulk load, the NDJSON and CSV
// imports, the tracker's batches, the demo), which bypass the query interface for speed. Domain
// code reaches them only through this interface; each engine implements it with its own
// writers (SQLite: the synchronous bun:sqlite writers of src/db/sqlite/, run through
// SqliteData.exclusive, so never inside an open transaction of the data layer).
import type { OrderRecord, SessionRecord } from '../domain/records.ts'
import type { SyncRequestEntry } from '../domain/requestLog.ts'
import { type Data, SqliteData } from './data.ts'
import { writeOrders } from './orders.ts'
import { PgData } from './postgres/data.ts'
import { PgIngest } from './postgres/ingest.ts'
import { revisionKey } from './revisions.ts'
import { BulkLoad } from './sqlite/bulkLoad.ts'
import { writeCallLog } from './sqlite/callLog.ts'
import { writeSessions } from './sqlite/sessionWriters.ts'
import { type OpenSessions, recordTrackerBatch } from './sqlite/trackerBatch.ts'

/** One logged call of the sync API, or the first call of a run of refusals. */
export type CallLogRow = SyncRequestEntry

/** A run of refused calls of one address, one row with a count; `rowId` once written. */
interface RefusalRow {
  entry: CallLogRow
  count: number
  rowId: number | null
}

/** What one flush of the call log writes: calls, refusal runs, and an optional pruning. */
export interface CallLogBatch {
  entries: readonly CallLogRow[]
  refusals: readonly RefusalRow[]
  /** Deletes the calls logged before this time too (null: no pruning this time). */
  pruneBefore: number | null
}

/** What a batch write did: rows new, rows changed. */
export interface WriteCount {
  inserted: number
  updated: number
}

/** What a session was before this write, when the caller already knows it is stored. */
export interface StoredSpan {
  started_at: number
  ended_at: number
  visitor_id: string
}

/** A bulk load under way (sqlite/bulkLoad.ts): rows in, then finish or abort. */
export interface BulkLoadWriter {
  /** Writes sessions given as JSON rows (domain/ndjson.ts sessionRows). */
  write(rows: { json: string; count: number }): Promise<void>
  /** Builds the indexes and visitors, marks the hours, commits; counts new and re-sent rows. */
  finish(): Promise<WriteCount>
  /** Rolls the load back. */
  abort(): Promise<void>
}

/**
 * What the tracker's sessionizer is given inside its batch's transaction; synchronous, so a
 * batch holds the write lock for as short as possible.
 */
export interface TrackerBatch {
  /** The visitor's latest session (a copy the caller may change), or null. */
  latest(storeId: number, visitorId: string): SessionRecord | null
  /** Upserts the store's sessions; `stored` names those known to exist, with their stored span. */
  write(
    storeId: number,
    sessions: SessionRecord[],
    stored: ReadonlyMap<string, StoredSpan>,
  ): WriteCount
  /** Remembers a visitor's latest session as written, for the next batch. */
  remember(storeId: number, visitorId: string, session: SessionRecord): void
}

/** The bulk writers of an engine. Each write is one transaction and marks the hours it changed. */
export interface IngestEngine {
  /** Upserts sessions by id; rows are stamped `updated_at` = `at`. */
  writeSessions(storeId: number, sessions: SessionRecord[], at: number): Promise<WriteCount>
  /** Upserts orders by id; rows are stamped `updated_at` = `at`. */
  writeOrders(storeId: number, orders: OrderRecord[], at: number): Promise<WriteCount>
  /**
   * Starts a bulk load of sessions into an empty store, or into one whose rows the import
   * (`expectedBytes` long, when known) outnumbers enough to rebuild its indexes rather than
   * keep them row by row; else resolves to null, having changed nothing, as it does when
   * another process has the database open. Only for a process alone with its connection (the
   * CLI's import).
   */
  beginBulkLoad(
    storeId: number,
    at: number,
    expectedBytes: number | null,
  ): Promise<BulkLoadWriter | null>
  /**
   * Runs one tracker batch (`work`, synchronous) in one transaction; see TrackerBatch.
   * `visitors` names every `[storeId, visitorId]` whose latest session `work` may ask for.
   */
  trackerBatch<T>(
    openSessions: OpenSessions,
    at: number,
    visitors: readonly (readonly [number, string])[],
    work: (batch: TrackerBatch) => T,
  ): Promise<T>
  /** Sizes the connection's caches for a bulk import by a process of its own (the CLI). */
  prepareBulkImport(): Promise<void>
  /**
   * Writes a batch of the sync API's call log in one transaction. Resolves to the id of the row
   * of each refusal run that had none (in the order of `refusals`; null for the runs only
   * recounted). Rejects as the database does (busy: nothing is written).
   */
  writeCallLog(batch: CallLogBatch): Promise<(number | null)[]>
}

/** The ingest engine of `data`'s database. */
export function ingestEngine(data: Data): IngestEngine {
  if (data instanceof SqliteData) return new SqliteIngest(data)
  if (data instanceof PgData) return new PgIngest(data)
  throw new Error(`No ingest engine for ${data.engine}`)
}

/** A bulk import touches index pages all over the table: 64 MB of page cache keeps them in memory. */
const BULK_IMPORT_CACHE_SIZE = -65_536

/** SQLite's ingest engine: the synchronous writers of src/db/sqlite/, each run exclusively. */
class SqliteIngest implements IngestEngine {
  constructor(private readonly data: SqliteData) {}

  writeSessions(storeId: number, sessions: SessionRecord[], at: number): Promise<WriteCount> {
    return this.data.exclusive((db) => writeSessions(db, storeId, sessions, at))
  }

  /**
   * Orders are a few per hundred sessions: the portable upsert (src/db/orders.ts, the webhook's)
   * in one transaction is fast enough, so there is no engine-specific copy of it.
   */
  async writeOrders(storeId: number, orders: OrderRecord[], at: number): Promise<WriteCount> {
    const count = await this.data.tx((q) => writeOrders(q, storeId, orders, at))
    this.data.cache.forget(revisionKey(storeId))
    return count
  }

  async beginBulkLoad(
    storeId: number,
    at: number,
    expectedBytes: number | null,
  ): Promise<BulkLoadWriter | null> {
    const { data } = this
    const load = await data.exclusive((db) => BulkLoad.begin(db, storeId, at, expectedBytes))
    if (!load) return null
    return {
      write: (rows) => data.exclusive(() => load.write(rows)),
      finish: () => data.exclusive(() => load.finish()),
      abort: () => data.exclusive(() => load.abort()),
    }
  }

  trackerBatch<T>(
    openSessions: OpenSessions,
    at: number,
    _visitors: readonly (readonly [number, string])[],
    work: (batch: TrackerBatch) => T,
  ): Promise<T> {
    return this.data.exclusive((db) => recordTrackerBatch(db, openSessions, at, work))
  }

  writeCallLog(batch: CallLogBatch): Promise<(number | null)[]> {
    return this.data.exclusive((db) => writeCallLog(db, batch))
  }

  prepareBulkImport(): Promise<void> {
    return this.data.exclusive((db) => {
      db.exec(`PRAGMA cache_size = ${BULK_IMPORT_CACHE_SIZE}`)
    })
  }
}
