import type { Data } from '../db/data.ts'
import { isBusy } from '../db/database.ts'
import { type CallLogBatch, ingestEngine } from '../db/ingest.ts'
import { recentSyncRequestRows } from '../db/requestLog.ts'
import type { Store } from './stores.ts'

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
 * holds one (`core.callLog`) and flushes it when it closes. The batches go through the
 * engine's own writer (`IngestEngine.writeCallLog`), one flush after the other.
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
  /** The flush in progress (or the last one): flushes run one after the other, in order. */
  private flushing: Promise<void> = Promise.resolve()
  private readonly flushLater = () => {
    void this.flush()
  }

  constructor(readonly data: Data) {}

  /** Appends a call of the sync API to the log. */
  add(e: SyncRequestEntry, options?: LogOptions): void {
    if (options?.refusedWithinMs !== undefined) {
      this.addRefusal(e, options.refusedWithinMs)
      return
    }
    // Any other call of the address ends its refusals in a row: the next refusal is a new window.
    if (this.runs.size !== 0) this.runs.delete(runKey(e))
    this.entries.push(e)
    if (this.entries.length >= FLUSH_AT_ENTRIES) void this.flush()
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

  /**
   * Writes the waiting log entries (before reading the log, and every 250 ms): once no
   * transaction is open, after the flushes before it. Never rejects.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const engine = ingestEngine(this.data)
    this.flushing = this.flushing.then(() => this.write((batch) => engine.writeCallLog(batch)))
    return this.flushing
  }

  /** Writes the waiting log entries, as the core closes. */
  close(): Promise<void> {
    return this.flush()
  }

  /** Takes the waiting entries and writes them with `writer`; they wait again if it is busy. */
  private async write(writer: (batch: CallLogBatch) => Promise<(number | null)[]>): Promise<void> {
    const entries = this.entries.splice(0)
    const runs = [...this.dirty]
    this.dirty.clear()
    if (entries.length === 0 && runs.length === 0) return
    const newest = Math.max(...entries.map((e) => e.at), ...runs.map((r) => r.entry.at))
    const prune = newest - this.prunedAt >= PRUNE_EVERY_MS
    try {
      const ids = await writer({
        entries,
        refusals: runs,
        pruneBefore: prune ? newest - SYNC_LOG_RETENTION_MS : null,
      })
      if (prune) this.prunedAt = newest
      // Only once committed: a rolled-back row has no id to update.
      runs.forEach((run, i) => {
        const id = ids[i]
        if (id != null) run.rowId = id
      })
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

/** A logged call with the name of the key that made it. */
export interface SyncRequestView extends SyncRequestEntry {
  keyName: string | null
  keyPrefix: string | null
  /** How many calls the row stands for: refusals of one address in a row are one row. */
  count: number
}

/**
 * The latest calls of a store's sync API, newest first; with `serverWide` (for an admin of every
 * store), the calls without a valid key among them: they belong to no store, and could be
 * another store's clients.
 */
export async function recentSyncRequests(
  log: SyncRequestLog,
  store: Store,
  limit = 20,
  serverWide = true,
): Promise<SyncRequestView[]> {
  await log.flush()
  return (await recentSyncRequestRows(log.data, store.id, limit, serverWide)).map((r) => ({
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
