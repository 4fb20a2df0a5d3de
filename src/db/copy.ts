// `db copy`: a whole installation moved from one database to another (SQLite to PostgreSQL and
// back), table by table in the order their references need, through the data layer of each side.
// Rows are read in primary-key order a chunk at a time (keyset: memory stays flat on a 10 M store)
// and written with multi-row inserts, a chunk per transaction; the counts are checked at the end.
import type { Data, SqlValue } from './data.ts'
import { PgData, toDollarParams } from './postgres/data.ts'

/** Every table of the schema, in an order where each row's references exist before it. */
const COPIED_TABLES: readonly { name: string; key: readonly string[]; identity?: true }[] = [
  { name: 'stores', key: ['id'], identity: true },
  { name: 'store_settings', key: ['store_id', 'key'] },
  { name: 'api_keys', key: ['id'], identity: true },
  { name: 'admins', key: ['id'], identity: true },
  { name: 'admin_stores', key: ['store_id', 'admin_id'] },
  { name: 'admin_sessions', key: ['token_hash'] },
  { name: 'setup_tokens', key: ['token_hash'] },
  { name: 'visitors', key: ['store_id', 'id'] },
  { name: 'sessions', key: ['store_id', 'id'] },
  { name: 'orders', key: ['store_id', 'id'] },
  { name: 'data_changes', key: ['store_id', 'hour'] },
  { name: 'sync_records', key: ['id'], identity: true },
  { name: 'sync_requests', key: ['id'], identity: true },
  { name: 'destinations', key: ['id'], identity: true },
  { name: 'outbox', key: ['id'], identity: true },
  { name: 'sync_claims', key: ['store_id', 'frequency', 'period_start'] },
  { name: 'webhook_deliveries', key: ['store_id', 'webhook_id'] },
  { name: 'audit_log', key: ['id'], identity: true },
  { name: 'throttle_windows', key: ['throttle', 'key'] },
]

/** Tables an engine keeps for itself, never copied. */
const ENGINE_TABLES = new Set([
  'schema_migrations',
  'cache_changes',
  'sqlite_sequence',
  'sqlite_stat1',
])

/** The tables of a database, by name. */
async function tablesOf(data: Data): Promise<string[]> {
  const rows =
    data instanceof PgData
      ? await data.all<{ name: string }>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
      : await data.all<{ name: string }>(
          "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
  return rows.map((r) => r.name).filter((n) => !ENGINE_TABLES.has(n))
}

/** A PostgreSQL table's column types, by column, as array types for `unnest` (`int8[]`, …). */
async function arrayTypesOf(data: PgData, table: string): Promise<Map<string, string>> {
  const rows = await data.all<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type FROM pg_attribute a
     WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped`,
    table,
  )
  return new Map(rows.map((r) => [r.name, `${r.type}[]`]))
}

/** A table's columns, in order. */
async function columnsOf(data: Data, table: string): Promise<string[]> {
  const rows =
    data instanceof PgData
      ? await data.all<{ name: string }>(
          'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position',
          table,
        )
      : await data.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', table)
  return rows.map((r) => r.name)
}

async function countOf(data: Data, table: string): Promise<number> {
  return (await data.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))?.n ?? 0
}

/** A copy's problem worth one clear line (exit 1): non-empty target, unknown table, counts. */
export class CopyRefused extends Error {}

/** Rows read per chunk, and the most parameters one insert may bind (both engines accept it). */
const CHUNK_ROWS = 20_000
const MAX_PARAMS = 30_000

export interface CopyResult {
  tables: { name: string; rows: number }[]
  ms: number
}

/**
 * Copies every table of `from` into `to` (migrated, empty); refuses a target with any row and a
 * source with a table this copy does not know. `progress` hears of each table when done.
 */
export async function copyDatabase(
  from: Data,
  to: Data,
  progress?: (table: string, rows: number) => void,
): Promise<CopyResult> {
  const started = performance.now()
  const known = new Set(COPIED_TABLES.map((t) => t.name))
  const unknown = (await tablesOf(from)).filter((t) => !known.has(t))
  if (unknown.length)
    throw new CopyRefused(`the source has tables this version does not copy: ${unknown.join(', ')}`)
  const filled: string[] = []
  for (const t of COPIED_TABLES) {
    const n = await countOf(to, t.name)
    if (n > 0) filled.push(`${t.name} (${n})`)
  }
  if (filled.length)
    throw new CopyRefused(
      `the target is not empty: rows in ${filled.join(', ')}; copy into a new, empty database`,
    )
  const tables: CopyResult['tables'] = []
  for (const t of COPIED_TABLES) {
    const columns = await columnsOf(from, t.name)
    const targetColumns = new Set(await columnsOf(to, t.name))
    const missing = columns.filter((c) => !targetColumns.has(c))
    if (missing.length)
      throw new CopyRefused(`the target's ${t.name} lacks ${missing.join(', ')}: migrate it first`)
    const rows = await copyTable(from, to, t.name, columns, t.key)
    if (t.identity && to instanceof PgData && rows > 0) {
      // The identity continues after the copied ids (SQLite does this by itself).
      await to.get(
        `SELECT setval(pg_get_serial_sequence('${t.name}', 'id'), (SELECT max(id) FROM ${t.name}))`,
      )
    }
    const copied = await countOf(to, t.name)
    const source = await countOf(from, t.name)
    if (copied !== source || copied !== rows)
      throw new CopyRefused(
        `${t.name}: ${source} rows in the source, ${copied} in the target after the copy`,
      )
    tables.push({ name: t.name, rows })
    progress?.(t.name, rows)
  }
  return { tables, ms: performance.now() - started }
}

async function copyTable(
  from: Data,
  to: Data,
  table: string,
  columns: string[],
  key: readonly string[],
): Promise<number> {
  const list = columns.join(', ')
  const keyAt = key.map((k) => columns.indexOf(k))
  const order = key.join(', ')
  const after = `(${order}) > (${key.map(() => '?').join(', ')})`
  const perInsert = Math.max(1, Math.floor(MAX_PARAMS / columns.length))
  const placeholders = `(${columns.map(() => '?').join(', ')})`
  // Into PostgreSQL a chunk is one statement over a typed array per column (unnest): far fewer
  // parameters to bind and statements to plan than multi-row VALUES.
  const types = to instanceof PgData ? await arrayTypesOf(to, table) : null
  const unnest = types
    ? `INSERT INTO ${table} (${list}) SELECT * FROM unnest(${columns
        .map((c) => `?::${types.get(c) ?? 'text[]'}`)
        .join(', ')})`
    : null
  let last: SqlValue[] | null = null
  let total = 0
  for (;;) {
    const chunk: SqlValue[][] = last
      ? await from.values(
          `SELECT ${list} FROM ${table} WHERE ${after} ORDER BY ${order} LIMIT ${CHUNK_ROWS}`,
          ...last,
        )
      : await from.values(`SELECT ${list} FROM ${table} ORDER BY ${order} LIMIT ${CHUNK_ROWS}`)
    if (chunk.length === 0) return total
    if (unnest && to instanceof PgData) {
      // One statement: atomic by itself.
      await to.sql.unsafe(
        toDollarParams(unnest),
        columns.map((_, c) => chunk.map((row) => row[c])),
      )
    } else
      await to.tx(async (q) => {
        for (let i = 0; i < chunk.length; i += perInsert) {
          const rows = chunk.slice(i, i + perInsert)
          await q.run(
            `INSERT INTO ${table} (${list}) VALUES ${rows.map(() => placeholders).join(', ')}`,
            ...rows.flat(),
          )
        }
      })
    total += chunk.length
    const end = chunk[chunk.length - 1] as SqlValue[]
    last = keyAt.map((i) => end[i] as SqlValue)
  }
}
