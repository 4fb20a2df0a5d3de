// ENGINE-SPECIFIC (SQLite): a consistent copy of the live database, written with `VACUUM INTO`
// (a read transaction: writers go on meanwhile) and checked with `PRAGMA integrity_check`.
// Reached through src/db/backup.ts.
import { Database as SqliteDatabase } from 'bun:sqlite'
import type { Database } from '../database.ts'

/**
 * Writes the copy into `file` (which must exist and be empty: its mode is kept) and checks it;
 * throws when the check fails.
 */
export function vacuumInto(db: Database, file: string): void {
  db.query('VACUUM INTO ?').run(file)
  const copy = new SqliteDatabase(file, { readonly: true })
  let check: { integrity_check: string }[]
  try {
    check = copy.query<{ integrity_check: string }, []>('PRAGMA integrity_check').all()
  } finally {
    copy.close()
  }
  if (check.length !== 1 || check[0]?.integrity_check !== 'ok') {
    throw new Error(
      `Backup failed integrity_check: ${check.map((c) => c.integrity_check).join('; ')}`,
    )
  }
}
