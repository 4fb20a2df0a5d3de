// The database's backup as the engine writes it (SQLite: VACUUM INTO, sqlite/backup.ts), and the
// read that names the daily backups. The files around it (the partial copy, the rename, the
// rotation) are domain/backup.ts's.
import { type Data, type Queries, SqliteData } from './data.ts'
import { vacuumInto } from './sqlite/backup.ts'

/**
 * Writes a consistent, checked copy of the live database into `file` (existing, empty), once no
 * transaction of the data layer is open; throws when the copy fails its check.
 */
export function writeBackup(data: Data, file: string): Promise<void> {
  if (!(data instanceof SqliteData)) throw new Error(`No backup for ${data.engine}`)
  return data.exclusive((db) => vacuumInto(db, file))
}

/** The first store's id (the one whose time zone names the backups), or null. */
export async function firstStoreId(q: Queries): Promise<number | null> {
  const row = await q.get<{ id: number }>('SELECT id FROM stores ORDER BY id LIMIT 1')
  return row?.id ?? null
}
