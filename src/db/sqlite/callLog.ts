// Engine-specific (SQLite): the sync API's call log written in batches, synchronously, with
// statements prepared once per shape and many rows a statement. Under load one statement per row
// cost more than serving the stored sync it logs, so this hot writer bypasses the query interface
// like the tracker's: the domain reaches it through `SqliteData.exclusive`, and `closeCore`
// directly for the last lines at shutdown (nothing else runs then).
import type { Database } from '../database.ts'
import type { CallLogBatch, CallLogRow } from '../ingest.ts'
import { PRUNE_CALL_LOG_SQL } from '../requestLog.ts'

const ROWS_PER_STATEMENT = 50
const COLUMNS = 7
/**
 * `INSERT … SELECT` from the rows' VALUES, keeping the calls of stores that still exist: a store
 * deleted (by another process too) while its calls waited would fail the whole batch.
 */
const insertRows = (
  values: string,
  columns = 'store_id, at, key_id, address, status, duration_ms, error',
) =>
  `INSERT INTO sync_requests (${columns}) SELECT * FROM (VALUES ${values})
   WHERE column1 IS NULL OR column1 IN (SELECT id FROM stores)`

function put(e: CallLogRow, into: (string | number | null)[], at: number): void {
  into[at] = e.storeId
  into[at + 1] = e.at
  into[at + 2] = e.keyId
  into[at + 3] = e.address
  into[at + 4] = e.status
  into[at + 5] = e.durationMs
  into[at + 6] = e.error
}

/**
 * Writes a batch in one transaction. Returns the id of the row of each refusal run that had none
 * (in the order of `refusals`; null for the runs only recounted). Throws as the database does
 * (busy: nothing is written).
 */
export function writeCallLog(db: Database, batch: CallLogBatch): (number | null)[] {
  const { entries, refusals } = batch
  const many = db.query(
    insertRows(Array(ROWS_PER_STATEMENT).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')),
  )
  const one = db.query(insertRows('(?, ?, ?, ?, ?, ?, ?)'))
  return db.transaction(() => {
    const params: (string | number | null)[] = new Array(ROWS_PER_STATEMENT * COLUMNS)
    let i = 0
    for (; i + ROWS_PER_STATEMENT <= entries.length; i += ROWS_PER_STATEMENT) {
      for (let j = 0; j < ROWS_PER_STATEMENT; j++) put(entries[i + j]!, params, j * COLUMNS)
      many.run(...params)
    }
    const row: (string | number | null)[] = new Array(COLUMNS)
    for (; i < entries.length; i++) {
      put(entries[i]!, row, 0)
      one.run(...row)
    }
    const ids: (number | null)[] = []
    for (const run of refusals) {
      if (run.rowId === null) {
        put(run.entry, row, 0)
        const inserted = db
          .query<{ id: number }, (string | number | null)[]>(
            `${insertRows('(?, ?, ?, ?, ?, ?, ?, ?)', 'store_id, at, key_id, address, status, duration_ms, error, count')} RETURNING id`,
          )
          .get(...row, run.count)
        ids.push(inserted?.id ?? null)
      } else {
        db.query('UPDATE sync_requests SET count = ? WHERE id = ?').run(run.count, run.rowId)
        ids.push(null)
      }
    }
    if (batch.pruneBefore !== null) db.query(PRUNE_CALL_LOG_SQL).run(batch.pruneBefore)
    return ids
  })()
}
