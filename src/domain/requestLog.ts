import { type Database, isBusy } from '../db/database.ts'

/** One call of the sync API, as logged. */
export interface SyncRequestEntry {
  storeId: number | null
  at: number
  keyId: number | null
  address: string | null
  status: number
  durationMs: number
  error: string | null
}

/** Entries wait this long at most before they are written, all in one transaction. */
const FLUSH_AFTER_MS = 250
const FLUSH_AT_ENTRIES = 500
const ROWS_PER_STATEMENT = 50

/** How long the call log keeps a call; older calls are deleted, at most once an hour. */
export const SYNC_LOG_RETENTION_MS = 90 * 86_400_000
const PRUNE_EVERY_MS = 3_600_000

/**
 * The refused calls (429 of the key throttle) of one address in a row: one log row, counted.
 * The row's time is the first refusal's.
 */
interface RefusalRun {
  entry: SyncRequestEntry
  count: number
  /** The row once written; later refusals update its count. */
  rowId: number | null
  /** A refusal from this time on starts a new row (the throttle's window has ended). */
  until: number
}

/** Open refusal runs kept before the ended ones are swept. */
const SWEEP_RUNS_AT = 1_000

/** How a call is logged: `refusedWithinMs` (the key throttle's window) marks a refused call. */
export interface LogOptions {
  refusedWithinMs?: number
}

const runKey = (e: SyncRequestEntry) => `${e.storeId} ${e.address}`

/**
 * The log of sync API calls, buffered: entries are written in batches (a write transaction per
 * request would cost more than serving a stored sync); a crash loses at most the last 250 ms of
 * log lines, never data. Refused calls (`refusedWithinMs`) of an address in a row, within one
 * throttle window, are one row with a count: a flood of them cannot grow the database. The core
 * holds one (`core.callLog`) and flushes it when it closes.
 */
export class SyncRequestLog {
  private readonly entries: SyncRequestEntry[] = []
  private timer: Timer | null = null
  /** The log time of the last pruning (entries carry the clock's time). */
  private prunedAt = Number.NEGATIVE_INFINITY
  /** The open refusal run of each `store address`. */
  private readonly runs = new Map<string, RefusalRun>()
  /** Runs whose count is not written yet. */
  private readonly dirty = new Set<RefusalRun>()
  /** The number of open runs at which the ended ones are swept (doubles if few end). */
  private sweepAt = SWEEP_RUNS_AT
  private readonly flushLater = () => this.flush()

  constructor(readonly db: Database) {}

  /** Appends a call of the sync API to the log. */
  add(e: SyncRequestEntry, options?: LogOptions): void {
    if (options?.refusedWithinMs !== undefined) {
      this.addRefusal(e, options.refusedWithinMs)
      return
    }
    // Any other call of the address ends its refusals in a row: the next refusal is a new window.
    if (this.runs.size !== 0) this.runs.delete(runKey(e))
    this.entries.push(e)
    if (this.entries.length >= FLUSH_AT_ENTRIES) this.flush()
    else if (!this.timer) this.timer = setTimeout(this.flushLater, FLUSH_AFTER_MS)
  }

  private addRefusal(e: SyncRequestEntry, windowMs: number): void {
    const key = runKey(e)
    let run = this.runs.get(key)
    if (run && e.at < run.until) run.count++
    else {
      if (!run && this.runs.size >= this.sweepAt) {
        for (const [k, open] of this.runs) if (open.until <= e.at) this.runs.delete(k)
        this.sweepAt = Math.max(SWEEP_RUNS_AT, this.runs.size * 2)
      }
      run = { entry: e, count: 1, rowId: null, until: e.at + windowMs }
      this.runs.set(key, run)
    }
    this.dirty.add(run)
    this.timer ??= setTimeout(this.flushLater, FLUSH_AFTER_MS)
  }

  /** Writes the waiting log entries now (before reading the log, and at shutdown). */
  flush(): void {
    const { db } = this
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const entries = this.entries.splice(0)
    const runs = [...this.dirty]
    this.dirty.clear()
    if (entries.length === 0 && runs.length === 0) return
    try {
      const columns =
        'INSERT INTO sync_requests (store_id, at, key_id, address, status, duration_ms, error) VALUES '
      // Many rows per statement: under load, one statement per row cost more than serving the sync.
      const many = db.query(
        columns + Array(ROWS_PER_STATEMENT).fill('(?, ?, ?, ?, ?, ?, ?)').join(', '),
      )
      const one = db.query(`${columns}(?, ?, ?, ?, ?, ?, ?)`)
      const params: (string | number | null)[] = new Array(ROWS_PER_STATEMENT * 7)
      const written: [RefusalRun, number][] = []
      const put = (e: SyncRequestEntry, into: (string | number | null)[], at: number) => {
        into[at] = e.storeId
        into[at + 1] = e.at
        into[at + 2] = e.keyId
        into[at + 3] = e.address
        into[at + 4] = e.status
        into[at + 5] = e.durationMs
        into[at + 6] = e.error
      }
      db.transaction(() => {
        let i = 0
        for (; i + ROWS_PER_STATEMENT <= entries.length; i += ROWS_PER_STATEMENT) {
          for (let j = 0; j < ROWS_PER_STATEMENT; j++) put(entries[i + j]!, params, j * 7)
          many.run(...params)
        }
        const row: (string | number | null)[] = new Array(7)
        for (; i < entries.length; i++) {
          put(entries[i]!, row, 0)
          one.run(...row)
        }
        for (const run of runs) {
          if (run.rowId === null) {
            put(run.entry, row, 0)
            const id = db
              .query(
                `INSERT INTO sync_requests (store_id, at, key_id, address, status, duration_ms, error,
                   count) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
              )
              .get(...row, run.count) as { id: number }
            written.push([run, id.id])
          } else {
            db.query('UPDATE sync_requests SET count = ? WHERE id = ?').run(run.count, run.rowId)
          }
        }
        const newest = Math.max(...entries.map((e) => e.at), ...runs.map((r) => r.entry.at))
        if (newest - this.prunedAt >= PRUNE_EVERY_MS) {
          pruneSyncRequestLog(db, newest - SYNC_LOG_RETENTION_MS)
          this.prunedAt = newest
        }
      })()
      // Only once committed: a rolled-back row has no id to update.
      for (const [run, id] of written) run.rowId = id
    } catch (err) {
      if (isBusy(err)) {
        // Another process holds the database for a while: the entries wait for the next flush.
        this.entries.unshift(...entries)
        for (const run of runs) this.dirty.add(run)
        this.timer ??= setTimeout(this.flushLater, FLUSH_AFTER_MS)
        return
      }
      // A closed database (tests, shutdown races): the log is not worth a crash.
      console.error(`Could not write ${entries.length} sync log entries: ${(err as Error).message}`)
    }
  }
}

/**
 * Deletes the calls logged before `before`. Calls are appended in time order, so they go by id:
 * from the first call at or after `before` (found scanning from the oldest) back.
 */
function pruneSyncRequestLog(db: Database, before: number): void {
  db.query(
    `DELETE FROM sync_requests WHERE id < coalesce(
       (SELECT id FROM sync_requests WHERE at >= ?1 ORDER BY id LIMIT 1),
       (SELECT coalesce(max(id), 0) + 1 FROM sync_requests))`,
  ).run(before)
}

/** A logged call with the name of the key that made it. */
export interface SyncRequestView extends SyncRequestEntry {
  keyName: string | null
  keyPrefix: string | null
  /** How many calls the row stands for: refusals of one address in a row are one row. */
  count: number
}

/** The latest calls of the sync API, newest first (calls without a valid key included). */
export function recentSyncRequests(
  log: SyncRequestLog,
  storeId: number,
  limit = 20,
): SyncRequestView[] {
  log.flush()
  return (
    log.db
      .query(
        `SELECT r.store_id, r.at, r.key_id, r.address, r.status, r.duration_ms, r.error, r.count,
           k.name AS key_name, k.prefix AS key_prefix
         FROM sync_requests r LEFT JOIN api_keys k ON k.id = r.key_id
         WHERE r.store_id = ? OR r.store_id IS NULL
         ORDER BY r.at DESC, r.id DESC LIMIT ?`,
      )
      .all(storeId, limit) as {
      store_id: number | null
      at: number
      key_id: number | null
      address: string | null
      status: number
      duration_ms: number
      error: string | null
      count: number
      key_name: string | null
      key_prefix: string | null
    }[]
  ).map((r) => ({
    storeId: r.store_id,
    at: r.at,
    keyId: r.key_id,
    address: r.address,
    status: r.status,
    durationMs: r.duration_ms,
    error: r.error,
    keyName: r.key_name,
    keyPrefix: r.key_prefix,
    count: r.count,
  }))
}
