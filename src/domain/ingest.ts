import {
  BUSY_TIMEOUT_MS,
  type Database,
  forgetPartialStatistics,
  isBusy,
  withTemporariesOnDisk,
} from '../db/database.ts'
import { readCache } from '../db/readCache.ts'
import { type Clock, nowMs } from './clock.ts'
import type { ParseMessage, ParseReply } from './importWorker.ts'
import { MAX_REPORTED_ERRORS, type RecordKind, SESSION_ROW_FIELDS } from './ndjson.ts'
import type { OrderRecord, SessionRecord } from './records.ts'

export type { RecordKind } from './ndjson.ts'

/** What an import did: rows new, rows changed, lines refused (with their reasons). */
export interface ImportSummary {
  inserted: number
  updated: number
  rejected: number
  /** The first rejected lines, `{ line, error }`; `rejected` counts them all. */
  errors: { line: number; error: string }[]
}

const HOUR_MS = 3_600_000
/** Rows written per transaction: large enough to be fast, small enough to keep memory flat. */
export const BATCH_SIZE = 50_000

export function emptySummary(): ImportSummary {
  return { inserted: 0, updated: 0, rejected: 0, errors: [] }
}

/** Counts a rejected line, keeping the first reasons. */
export function reject(summary: ImportSummary, line: number, error: string): void {
  summary.rejected++
  if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push({ line, error })
}

/** The store's data revision, cached until this process writes data or another one commits. */
export function dataRevision(db: Database, storeId: number): number {
  return readCache(db).get(revisionKey(storeId), () => {
    const row = db.query('SELECT data_revision FROM stores WHERE id = ?').get(storeId) as {
      data_revision: number
    }
    return row.data_revision
  })
}

/** The read-cache key of a store's data revision. */
export const revisionKey = (storeId: number): string => `data-revision:${storeId}`

/** Gives the store a new data revision, inside the caller's transaction, and returns it. */
function nextRevision(db: Database, storeId: number): number {
  const { data_revision } = db
    .query(
      'UPDATE stores SET data_revision = data_revision + 1 WHERE id = ? RETURNING data_revision',
    )
    .get(storeId) as { data_revision: number }
  readCache(db).forget(revisionKey(storeId))
  return data_revision
}

/** The statement marking an hour (store, hour, revision) as changed at a revision. */
function hourMark(db: Database) {
  return db.query(
    `INSERT INTO data_changes (store_id, hour, revision) VALUES (?, ?, ?)
     ON CONFLICT (store_id, hour) DO UPDATE SET revision = excluded.revision`,
  )
}

/**
 * Marks the hours holding changed rows with a new store revision, so that stored syncs of
 * those periods know they are stale. Runs inside the caller's transaction.
 */
function markChanged(db: Database, storeId: number, times: Iterable<number>): void {
  const hours = new Set<number>()
  for (const t of times) hours.add(Math.floor(t / HOUR_MS))
  if (hours.size === 0) return
  const data_revision = nextRevision(db, storeId)
  const mark = hourMark(db)
  for (const hour of hours) mark.run(storeId, hour, data_revision)
}

const sessionWrites = new WeakMap<Database, number>()

/** How many session batches this connection has written: a change signal for in-memory copies. */
export function sessionWriteCount(db: Database): number {
  return sessionWrites.get(db) ?? 0
}

/** What a session was before this write, when the caller already knows it is stored. */
export interface StoredSpan {
  started_at: number
  ended_at: number
  visitor_id: string
}

/**
 * Upserts sessions by id in one transaction; returns how many were new and how many changed.
 * `stored` names sessions the caller knows exist (with their stored span): they are updated
 * without first trying an insert and reading them back.
 */
export function writeSessions(
  db: Database,
  storeId: number,
  sessions: SessionRecord[],
  clock: Clock,
  stored?: ReadonlyMap<string, StoredSpan>,
): { inserted: number; updated: number } {
  // New sessions take one statement; a re-sent one is read first (its old hour changes too).
  const insert = db.query(
    `INSERT INTO sessions (store_id, id, visitor_id, started_at, ended_at, pageviews, device, source,
       landing_page, viewed_product, added_to_cart, reached_checkout, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (store_id, id) DO NOTHING`,
  )
  const existing = db.query(
    'SELECT started_at, ended_at, visitor_id FROM sessions WHERE store_id = ? AND id = ?',
  )
  const update = db.query(
    `UPDATE sessions SET visitor_id = ?3, started_at = ?4, ended_at = ?5, pageviews = ?6,
       device = ?7, source = ?8, landing_page = ?9, viewed_product = ?10, added_to_cart = ?11,
       reached_checkout = ?12, updated_at = ?13
     WHERE store_id = ?1 AND id = ?2`,
  )
  // A new visitor is one insert; a known one is changed only where its span grew, and only in
  // the column that moved (an unchanged first_seen_at leaves its index alone).
  const newVisitor = db.query(
    `INSERT INTO visitors (store_id, id, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (store_id, id) DO NOTHING`,
  )
  const seenEarlier = db.query(
    'UPDATE visitors SET first_seen_at = ?3 WHERE store_id = ?1 AND id = ?2 AND first_seen_at > ?3',
  )
  const seenLater = db.query(
    'UPDATE visitors SET last_seen_at = ?3 WHERE store_id = ?1 AND id = ?2 AND last_seen_at < ?3',
  )
  // After a session moved or changed hands, its visitors' spans are taken from their sessions.
  const respan = db.query(
    `UPDATE visitors SET
       first_seen_at = (SELECT min(started_at) FROM sessions WHERE store_id = ?1 AND visitor_id = ?2),
       last_seen_at = (SELECT max(ended_at) FROM sessions WHERE store_id = ?1 AND visitor_id = ?2)
     WHERE store_id = ?1 AND id = ?2`,
  )
  const orphan = db.query(
    `DELETE FROM visitors WHERE store_id = ?1 AND id = ?2
       AND NOT EXISTS (SELECT 1 FROM sessions WHERE store_id = ?1 AND visitor_id = ?2)`,
  )
  const at = nowMs(clock)
  sessionWrites.set(db, sessionWriteCount(db) + 1)
  return db
    .transaction(() => {
      let inserted = 0
      let updated = 0
      const touched: number[] = []
      const respanned = new Set<string>()
      // Each visitor once per batch, in key order: fewer, more local B-tree writes.
      const seen = new Map<string, [number, number]>()
      for (const s of sessions) {
        const values = [
          storeId,
          s.id,
          s.visitor_id,
          s.started_at,
          s.ended_at,
          s.pageviews,
          s.device,
          s.source,
          s.landing_page,
          s.viewed_product ? 1 : 0,
          s.added_to_cart ? 1 : 0,
          s.reached_checkout ? 1 : 0,
          at,
        ] as const
        const known = stored?.get(s.id)
        // A session said to be stored but gone since (nothing deletes them today) is inserted.
        const updatedKnown = known !== undefined && update.run(...values).changes === 1
        if (!updatedKnown && insert.run(...values).changes === 1) inserted++
        else {
          const before = known ?? (existing.get(storeId, s.id) as StoredSpan)
          touched.push(before.started_at)
          if (!updatedKnown) update.run(...values)
          updated++
          // A session that only grew (the tracker extending it) is covered by the min/max below.
          if (
            before.visitor_id !== s.visitor_id ||
            s.started_at > before.started_at ||
            s.ended_at < before.ended_at
          ) {
            respanned.add(before.visitor_id).add(s.visitor_id)
          }
        }
        touched.push(s.started_at)
        const span = seen.get(s.visitor_id)
        if (!span) seen.set(s.visitor_id, [s.started_at, s.ended_at])
        else {
          if (s.started_at < span[0]) span[0] = s.started_at
          if (s.ended_at > span[1]) span[1] = s.ended_at
        }
      }
      for (const id of [...seen.keys()].sort()) {
        const [first, last] = seen.get(id)!
        if (newVisitor.run(storeId, id, first, last).changes === 0) {
          seenEarlier.run(storeId, id, first)
          seenLater.run(storeId, id, last)
        }
      }
      for (const id of respanned) {
        orphan.run(storeId, id)
        respan.run(storeId, id)
      }
      markChanged(db, storeId, touched)
      return { inserted, updated }
    })
    .immediate()
}

/**
 * Upserts orders by id in one transaction. An order linked to a session also marks that
 * session's hour changed, since it decides whether the session counts as abandoned.
 */
export function writeOrders(
  db: Database,
  storeId: number,
  orders: OrderRecord[],
  clock: Clock,
): { inserted: number; updated: number } {
  const existing = db.query(
    'SELECT created_at, session_id FROM orders WHERE store_id = ? AND id = ?',
  )
  const sessionStart = db.query('SELECT started_at FROM sessions WHERE store_id = ? AND id = ?')
  const upsert = db.query(
    `INSERT INTO orders (store_id, id, name, created_at, total_price_cents, currency,
       financial_status, cancelled_at, test, session_id, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (store_id, id) DO UPDATE SET name = coalesce(excluded.name, name),
       created_at = excluded.created_at, total_price_cents = excluded.total_price_cents,
       currency = coalesce(excluded.currency, currency),
       financial_status = excluded.financial_status, cancelled_at = excluded.cancelled_at,
       test = excluded.test, session_id = coalesce(excluded.session_id, session_id),
       updated_at = excluded.updated_at`,
  )
  const at = nowMs(clock)
  return db
    .transaction(() => {
      let inserted = 0
      let updated = 0
      const touched: number[] = []
      const touchSession = (sessionId: string | null | undefined) => {
        if (!sessionId) return
        const s = sessionStart.get(storeId, sessionId) as { started_at: number } | null
        if (s) touched.push(s.started_at)
      }
      for (const o of orders) {
        const before = existing.get(storeId, o.id) as {
          created_at: number
          session_id: string | null
        } | null
        if (before) {
          updated++
          touched.push(before.created_at)
          touchSession(before.session_id)
        } else inserted++
        touched.push(o.created_at)
        touchSession(o.session_id)
        upsert.run(
          storeId,
          o.id,
          o.name ?? null,
          o.created_at,
          o.total_price,
          o.currency ?? null,
          o.financial_status ?? null,
          o.cancelled_at ?? null,
          o.test ? 1 : 0,
          o.session_id || null,
          at,
        )
      }
      markChanged(db, storeId, touched)
      return { inserted, updated }
    })
    .immediate()
}

/**
 * Bytes handed to the parse thread and not yet written: the thread parses this far ahead while
 * a batch is being written, and no further, so memory stays flat however large the input.
 */
const PARSE_AHEAD_BYTES = 16 * 1024 * 1024

/**
 * The parse thread's entry point: beside this file, or, in the compiled binary (where this code
 * is bundled into the root entry), under domain/ of the binary's file system (scripts/build.ts).
 */
const WORKER_URL = import.meta.url.includes('/$bunfs/')
  ? new URL('./domain/importWorker.ts', import.meta.url)
  : new URL('./importWorker.ts', import.meta.url)

/** The import's parse thread (src/domain/importWorker.ts): chunks go in, records come back in order. */
class ParseThread {
  private readonly worker = new Worker(WORKER_URL)
  private readonly replies: ParseReply[] = []
  private readonly sizes: number[] = []
  private wake: (() => void) | null = null
  private failure: Error | null = null
  /** Bytes sent whose records have not been taken yet. */
  ahead = 0

  /** `rows`: sessions come back as JSON rows, for a first load. */
  constructor(kind: RecordKind, rows: boolean) {
    this.worker.onmessage = (event: MessageEvent<ParseReply>) => {
      this.replies.push(event.data)
      this.wake?.()
    }
    this.worker.onerror = (event) => {
      this.failure = new Error(`The import's parse thread failed: ${event.message}`)
      this.wake?.()
    }
    this.worker.postMessage({ kind, rows } satisfies ParseMessage)
  }

  send(chunk: Uint8Array): void {
    this.worker.postMessage(chunk satisfies ParseMessage)
    this.sizes.push(chunk.byteLength)
    this.ahead += chunk.byteLength
  }

  end(): void {
    this.worker.postMessage(null satisfies ParseMessage)
    this.sizes.push(0)
  }

  /** The replies that are back, without waiting. */
  take(): ParseReply[] {
    const replies = this.replies.splice(0)
    for (const _ of replies) this.ahead -= this.sizes.shift() ?? 0
    return replies
  }

  /** The next reply, waiting for it. */
  async next(): Promise<ParseReply> {
    while (this.replies.length === 0) {
      if (this.failure) throw this.failure
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
      this.wake = null
    }
    this.ahead -= this.sizes.shift() ?? 0
    return this.replies.shift()!
  }

  close(): void {
    this.worker.terminate()
  }
}

/**
 * The page cache (in KiB, negative as SQLite takes it) during a first load. Rows are appended and
 * indexes built by sorting, so a small cache costs no time (1 M sessions: 8.3-9.8 s with 16 MB,
 * 8.7-10.1 s with 64 MB) and keeps memory low (~190 MB at the peak instead of ~240 MB).
 */
const FIRST_LOAD_CACHE_SIZE = -16_384

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
class FirstLoad {
  private readonly indexes: { name: string; table: string; sql: string }[]
  private readonly insert
  private readonly at: number
  /** The connection's own page cache size, given back at the end. */
  private readonly cacheSize: number
  private received = 0

  private constructor(
    private readonly db: Database,
    private readonly storeId: number,
    clock: Clock,
  ) {
    // The indexes' own definitions, so they come back exactly as the migrations made them.
    this.indexes = db
      .query(
        `SELECT name, tbl_name AS "table", sql FROM sqlite_schema
         WHERE type = 'index' AND tbl_name IN ('sessions', 'visitors') AND sql IS NOT NULL`,
      )
      .all() as { name: string; table: string; sql: string }[]
    for (const index of this.indexes) db.exec(`DROP INDEX "${index.name}"`)
    db.exec('DELETE FROM visitors')
    // A session sent twice is updated, as on the batched path; visitors are built at the end.
    const columns = SESSION_ROW_FIELDS.join(', ')
    const values = SESSION_ROW_FIELDS.map((_, i) => `value->>${i}`).join(', ')
    const updates = SESSION_ROW_FIELDS.filter((column) => column !== 'id')
      .map((column) => `${column} = excluded.${column}`)
      .join(', ')
    this.insert = db.query(
      `INSERT INTO sessions (store_id, ${columns}, updated_at)
       SELECT ?1, ${values}, ?2 FROM json_each(?3) WHERE true
       ON CONFLICT (store_id, id) DO UPDATE SET ${updates}, updated_at = excluded.updated_at`,
    )
    this.at = nowMs(clock)
    // Last, once nothing here can fail: release() gives it back.
    this.cacheSize = (db.query('PRAGMA cache_size').get() as { cache_size: number }).cache_size
    db.exec(`PRAGMA cache_size = ${FIRST_LOAD_CACHE_SIZE}`)
  }

  /**
   * Starts a first load, or returns null (having changed nothing) when sessions are stored
   * already or another connection has the database open.
   */
  static begin(db: Database, storeId: number, clock: Clock): FirstLoad | null {
    if (db.query('SELECT 1 FROM sessions LIMIT 1').get() !== null) return null
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    try {
      db.exec('BEGIN EXCLUSIVE')
    } catch (err) {
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
        releaseExclusive(db)
        return null
      }
      return new FirstLoad(db, storeId, clock)
    } catch (err) {
      db.exec('ROLLBACK')
      releaseExclusive(db)
      throw err
    }
  }

  /** Writes sessions given as JSON rows (sessionRows). */
  write(rows: { json: string; count: number }): void {
    if (rows.count === 0) return
    this.insert.run(this.storeId, this.at, rows.json)
    this.received += rows.count
  }

  /** Builds the indexes and visitors, marks every hour written as changed, and commits. */
  finish(): { inserted: number; updated: number } {
    const { db, storeId } = this
    this.buildIndexes()
    // Rows are only added to a table that was empty: their count is the last rowid given.
    const { inserted } = db
      .query('SELECT coalesce(max(rowid), 0) AS inserted FROM sessions')
      .get() as { inserted: number }
    if (inserted > 0) this.markEveryHour()
    forgetPartialStatistics(db)
    db.exec('COMMIT')
    // Forgotten again: a read between the bump and the commit could have cached the old value.
    readCache(db).forget(revisionKey(storeId))
    sessionWrites.set(db, sessionWriteCount(db) + 1)
    // The whole load went through the WAL: give that space back while no one else can read.
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    this.release()
    return { inserted, updated: this.received - inserted }
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
    const next = db.query(
      'SELECT min(started_at) AS t FROM sessions WHERE store_id = ? AND started_at >= ?',
    )
    const mark = hourMark(db)
    let t = (next.get(storeId, Number.MIN_SAFE_INTEGER) as { t: number | null }).t
    while (t !== null) {
      const hour = Math.floor(t / HOUR_MS)
      mark.run(storeId, hour, revision)
      t = (next.get(storeId, (hour + 1) * HOUR_MS) as { t: number | null }).t
    }
  }

  /** Rolls the load back (the indexes come back with it) and lets other processes in. */
  abort(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK')
    this.release()
  }

  /** The connection as it was: its page cache, and no longer exclusive. */
  private release(): void {
    this.db.exec(`PRAGMA cache_size = ${this.cacheSize}`)
    releaseExclusive(this.db)
  }
}

/** Leaves SQLite's exclusive locking mode: the lock goes at the next read. */
function releaseExclusive(db: Database): void {
  db.exec('PRAGMA locking_mode = NORMAL')
  db.query('SELECT 1 FROM sqlite_schema LIMIT 1').get()
}

/** How an import runs, beyond its input. */
export interface ImportOptions {
  /** Gets the lines read so far, and the summary so far, after each batch. */
  onProgress?: (linesRead: number, summary: ImportSummary) => void
  /**
   * The connection is this import's alone (the CLI's): sessions imported into an empty table
   * are then written as a first load, in one transaction (see FirstLoad). A server must not set
   * this: its other requests share its connection.
   */
  exclusive?: boolean
}

/**
 * Imports NDJSON sessions or orders: each line validated on its own, bad lines reported by
 * number and skipped, good lines upserted in batches. Lines are parsed on a second thread while
 * this one writes.
 */
export async function importNdjson(
  db: Database,
  storeId: number,
  kind: RecordKind,
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  clock: Clock,
  { onProgress, exclusive = false }: ImportOptions = {},
): Promise<ImportSummary> {
  const summary = emptySummary()
  let batch: (SessionRecord | OrderRecord)[] = []
  let lines = 0
  const flush = () => {
    if (batch.length === 0) return
    const result =
      kind === 'sessions'
        ? writeSessions(db, storeId, batch as SessionRecord[], clock)
        : writeOrders(db, storeId, batch as OrderRecord[], clock)
    summary.inserted += result.inserted
    summary.updated += result.updated
    batch = []
    onProgress?.(lines, summary)
  }
  // Begun before the parse thread starts, which must know the form to send records in.
  const firstLoad = kind === 'sessions' && exclusive ? FirstLoad.begin(db, storeId, clock) : null
  const take = (parsed: ParseReply) => {
    lines = parsed.lines
    summary.rejected += parsed.rejected
    for (const e of parsed.errors) {
      if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push(e)
    }
    if (firstLoad && parsed.rows) {
      firstLoad.write(parsed.rows)
      // Counted as new until the end says which were sent twice.
      summary.inserted += parsed.rows.count
      onProgress?.(lines, summary)
      return
    }
    for (const record of parsed.records) {
      batch.push(record)
      if (batch.length >= BATCH_SIZE) flush()
    }
  }
  let parser: ParseThread | null = null
  try {
    parser = new ParseThread(kind, firstLoad !== null)
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      parser.send(chunk)
      for (const parsed of parser.take()) take(parsed)
      while (parser.ahead > PARSE_AHEAD_BYTES) take(await parser.next())
    }
    parser.end()
    for (;;) {
      const parsed = await parser.next()
      take(parsed)
      if (parsed.done) break
    }
    if (firstLoad) Object.assign(summary, firstLoad.finish())
  } catch (err) {
    firstLoad?.abort()
    throw err
  } finally {
    parser?.close()
  }
  flush()
  onProgress?.(lines, summary)
  return summary
}
