// NDJSON import: a byte stream of sessions or orders, parsed on the parse thread, written in
// batches by the row writers, or as a bulk load when the CLI has the database to itself. It
// does not validate lines (ndjson.ts, records.ts) nor write SQL of its own: the engine's bulk
// writers do (src/db/ingest.ts).
import type { Data } from '../../db/data.ts'
import { type BulkLoadWriter, ingestEngine } from '../../db/ingest.ts'
import { type Clock, nowMs } from '../clock.ts'
import { MAX_REPORTED_ERRORS, type RecordKind } from '../ndjson.ts'
import type { OrderRecord, SessionRecord } from '../records.ts'
import type { Store } from '../stores.ts'
import { PARSE_AHEAD_BYTES, ParseThread } from './parseThread.ts'
import type { ParseReply } from './parseWorker.ts'
import { emptySummary, type ImportSummary } from './summary.ts'
import { BATCH_SIZE, writeOrders, writeSessions } from './writers.ts'

/** How an import runs, beyond its input. */
export interface ImportOptions {
  /** Gets the lines read so far, and the summary so far, after each batch. */
  onProgress?: (linesRead: number, summary: ImportSummary) => void
  /**
   * The connection is this import's alone (the CLI's): sessions imported into an empty store,
   * or many into a few, are then written as a bulk load, in one transaction
   * (src/db/sqlite/bulkLoad.ts). A server must not set this: its other requests share its
   * connection.
   */
  exclusive?: boolean
  /** The input's size in bytes, when known (a file): how large the import is likely to be. */
  expectedBytes?: number
}

/**
 * Imports NDJSON sessions or orders: each line validated on its own, bad lines reported by
 * number and skipped, good lines upserted in batches. Lines are parsed on a second thread while
 * this one writes.
 */
export async function importNdjson(
  data: Data,
  store: Store,
  kind: RecordKind,
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  clock: Clock,
  { onProgress, exclusive = false, expectedBytes }: ImportOptions = {},
): Promise<ImportSummary> {
  const summary = emptySummary()
  let batch: (SessionRecord | OrderRecord)[] = []
  let lines = 0
  const flush = async () => {
    if (batch.length === 0) return
    const result =
      kind === 'sessions'
        ? await writeSessions(data, store, batch as SessionRecord[], clock)
        : await writeOrders(data, store, batch as OrderRecord[], clock)
    summary.inserted += result.inserted
    summary.updated += result.updated
    batch = []
    onProgress?.(lines, summary)
  }
  // Begun before the parse thread starts, which must know the form to send records in.
  const bulk: BulkLoadWriter | null =
    kind === 'sessions' && exclusive
      ? await ingestEngine(data).beginBulkLoad(store.id, nowMs(clock), expectedBytes ?? null)
      : null
  const take = async (parsed: ParseReply) => {
    lines = parsed.lines
    summary.rejected += parsed.rejected
    for (const e of parsed.errors) {
      if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push(e)
    }
    if (bulk && parsed.rows) {
      await bulk.write(parsed.rows)
      // Counted as new until the end says which were sent twice.
      summary.inserted += parsed.rows.count
      onProgress?.(lines, summary)
      return
    }
    for (const record of parsed.records) {
      batch.push(record)
      if (batch.length >= BATCH_SIZE) await flush()
    }
  }
  let parser: ParseThread | null = null
  try {
    parser = new ParseThread(kind, bulk !== null)
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      parser.send(chunk)
      for (const parsed of parser.take()) await take(parsed)
      while (parser.ahead > PARSE_AHEAD_BYTES) await take(await parser.next())
    }
    parser.end()
    for (;;) {
      const parsed = await parser.next()
      await take(parsed)
      if (parsed.done) break
    }
    // The parse threads' memory goes before a bulk load's sorts and index builds need theirs.
    parser.close()
    if (bulk) Object.assign(summary, await bulk.finish())
  } catch (err) {
    await bulk?.abort()
    throw err
  } finally {
    parser?.close()
  }
  await flush()
  onProgress?.(lines, summary)
  return summary
}
