// NDJSON import: a byte stream of sessions or orders, parsed on the parse thread, written in
// batches by the row writers, or as a first load when the CLI has the database to itself. It
// does not validate lines (ndjson.ts, records.ts) nor write SQL of its own.
import type { Database } from '../../db/database.ts'
import type { Clock } from '../clock.ts'
import { MAX_REPORTED_ERRORS, type RecordKind } from '../ndjson.ts'
import type { OrderRecord, SessionRecord } from '../records.ts'
import { FirstLoad } from './firstLoad.ts'
import { PARSE_AHEAD_BYTES, ParseThread } from './parseThread.ts'
import type { ParseReply } from './parseWorker.ts'
import { emptySummary, type ImportSummary } from './summary.ts'
import { BATCH_SIZE, writeOrders, writeSessions } from './writers.ts'

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
