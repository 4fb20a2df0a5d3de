// ENGINE-SPECIFIC (PostgreSQL): the data layer over Bun's built-in `Bun.sql` client. The query
// modules' SQL is written once, with SQLite's `?` and `?N` parameters; this engine rewrites them
// to `$N` (once per statement text) and gives rows the shapes SQLite gives: 64-bit integers and
// numerics as numbers (every integer this product stores is far below 2^53), booleans as 1/0.
import type { SQL } from 'bun'
import type { Secrets } from '../../domain/secrets.ts'
import type { Data, Queries, SqlValue, TxOptions } from '../data.ts'
import { ReadCache } from '../readCache.ts'

/** Type OIDs that Bun.sql hands over as text or booleans, and SQLite as numbers. */
const INT8 = 20
const NUMERIC = 1700
const BOOL = 16

/**
 * Every write transaction takes this transaction-level advisory lock first: writes through the
 * query interface run one at a time across every node, as SQLite's write lock makes them (the
 * domain's read-then-write transactions were written for that). The hot writers of the ingest
 * engine (the tracker, imports, the call log) take row locks of their own instead.
 */
export const WRITE_LOCK = 0x6d696461

/** Statement texts rewritten to `$N` parameters, kept (statements are a fixed set). */
const rewritten = new Map<string, string>()

/**
 * `?` and `?N` parameters as `$N`, outside string literals, quoted identifiers and comments.
 */
export function toDollarParams(sql: string): string {
  const known = rewritten.get(sql)
  if (known !== undefined) return known
  let out = ''
  let next = 1
  let i = 0
  while (i < sql.length) {
    const c = sql[i] as string
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1)
      const stop = end === -1 ? sql.length : end + 1
      out += sql.slice(i, stop)
      i = stop
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i)
      const stop = end === -1 ? sql.length : end
      out += sql.slice(i, stop)
      i = stop
    } else if (c === '?') {
      let j = i + 1
      while (j < sql.length && /[0-9]/.test(sql[j] as string)) j++
      out += j > i + 1 ? `$${sql.slice(i + 1, j)}` : `$${next++}`
      i = j
    } else {
      out += c
      i++
    }
  }
  if (rewritten.size < 10_000) rewritten.set(sql, out)
  return out
}

/** Parameters as PostgreSQL takes them: booleans as the 1/0 SQLite stores. */
function bind<T>(params: T[]): T[] {
  for (let i = 0; i < params.length; i++) {
    const p = params[i]
    if (typeof p === 'boolean') params[i] = (p ? 1 : 0) as T
  }
  return params
}

interface Column {
  name: string
  type: number
}

/** The columns of a result that need converting, or null when none does. */
function convertible(columns: Column[] | null | undefined): [number, Column][] | null {
  if (!columns) return null
  const out: [number, Column][] = []
  columns.forEach((c, i) => {
    if (c.type === INT8 || c.type === NUMERIC || c.type === BOOL) out.push([i, c])
  })
  return out.length ? out : null
}

function convert(value: unknown, type: number): unknown {
  if (value === null || value === undefined) return value
  if (type === BOOL) return value ? 1 : 0
  return Number(value)
}

type Client = Pick<SQL, 'unsafe'>

/**
 * Rows of a statement as objects in SQLite's shapes. Also for the engine's own writers
 * (postgres/ingest.ts), whose parameters may be arrays (`unnest`, `= ANY`).
 */
export async function pgRows<Row>(client: Client, sql: string, params: unknown[]): Promise<Row[]> {
  const result = await client.unsafe(toDollarParams(sql), bind(params))
  const fix = convertible(result.columns)
  if (fix) {
    for (const row of result as Record<string, unknown>[])
      for (const [, c] of fix) row[c.name] = convert(row[c.name], c.type)
  }
  // A plain array, as SQLite gives: Bun.sql's result array is a subclass carrying the statement.
  return Array.from(result as Row[])
}

async function arrays<Row>(client: Client, sql: string, params: SqlValue[]): Promise<Row[]> {
  const result = await client.unsafe(toDollarParams(sql), bind(params)).values()
  const fix = convertible(result.columns)
  if (fix) {
    for (const row of result as unknown[][])
      for (const [i, c] of fix) row[i] = convert(row[i], c.type)
  }
  return Array.from(result as Row[])
}

async function changed(client: Client, sql: string, params: SqlValue[]): Promise<number> {
  const result = await client.unsafe(toDollarParams(sql), bind(params))
  return result.affectedRows ?? result.count
}

/** Whether a statement writes (a top-level write takes the write lock, as a transaction does). */
const WRITES = /^\s*(insert|update|delete|with)\b/i

/** The PostgreSQL engine: a pool of connections (Bun.sql), transactions on one of them. */
export class PgData implements Data {
  readonly engine = 'postgres'
  readonly cache: ReadCache

  constructor(
    readonly sql: SQL,
    readonly secrets: Secrets,
  ) {
    this.cache = new ReadCache({
      inTransaction: () => false,
      version: () => changeVersion(sql),
    })
  }

  // A write read back (`UPDATE … RETURNING`) takes the write lock as `run` does: under READ
  // COMMITTED a statement that waits on a row another node just changed goes on with the new row
  // without asking its subquery again, so two nodes' `UPDATE … WHERE id IN (SELECT … due rows)`
  // both took the same outbox row and both sent the email.
  all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    if (WRITES.test(sql)) return this.tx((q) => q.all<Row>(sql, ...params))
    return pgRows<Row>(this.sql, sql, params)
  }

  async get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null> {
    if (WRITES.test(sql)) return this.tx((q) => q.get<Row>(sql, ...params))
    return (await pgRows<Row>(this.sql, sql, params))[0] ?? null
  }

  values<Row extends SqlValue[]>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    if (WRITES.test(sql)) return this.tx((q) => q.values<Row>(sql, ...params))
    return arrays<Row>(this.sql, sql, params)
  }

  run(sql: string, ...params: SqlValue[]): Promise<number> {
    if (WRITES.test(sql)) return this.tx((q) => q.run(sql, ...params))
    return changed(this.sql, sql, params)
  }

  tx<T>(work: (q: Queries) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const mode = options.readOnly ? 'isolation level repeatable read read only' : ''
    return this.sql.begin(mode, async (tx) => {
      if (!options.readOnly) await tx.unsafe(`SELECT pg_advisory_xact_lock(${WRITE_LOCK})`)
      return await PgTransaction.within(tx, work)
    }) as Promise<T>
  }

  close(): Promise<void> {
    return this.sql.close()
  }
}

/** A transaction's handle; nested transactions are savepoints. */
class PgTransaction implements Queries {
  #closed = false

  private constructor(private readonly client: Bun.TransactionSQL | Bun.SavepointSQL) {}

  /** Runs `work` with a handle on `client` that refuses statements once `work` has ended. */
  static async within<T>(
    client: Bun.TransactionSQL | Bun.SavepointSQL,
    work: (q: Queries) => Promise<T>,
  ): Promise<T> {
    const q = new PgTransaction(client)
    try {
      return await work(q)
    } finally {
      q.#closed = true
    }
  }

  #client(): Client {
    // As SQLite's handle says it (Bun.sql's own refusal names neither the cause nor the cure).
    if (this.#closed) throw new Error('This transaction has ended; use the handle it was given')
    return this.client
  }

  async all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    return pgRows<Row>(this.#client(), sql, params)
  }

  async get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null> {
    return (await pgRows<Row>(this.#client(), sql, params))[0] ?? null
  }

  async values<Row extends SqlValue[]>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    return arrays<Row>(this.#client(), sql, params)
  }

  async run(sql: string, ...params: SqlValue[]): Promise<number> {
    return changed(this.#client(), sql, params)
  }

  async tx<T>(work: (q: Queries) => Promise<T>): Promise<T> {
    const client = this.#client() as Bun.TransactionSQL
    return (await client.savepoint((sp) => PgTransaction.within(sp, work))) as T
  }
}

/**
 * What the read cache watches on PostgreSQL: the stores' data revisions (moved by every write of
 * sessions or orders, on any node) and the change counter of the cached tables (settings, keys,
 * stores: moved by a statement trigger, migration 1), read in one round trip.
 */
async function changeVersion(sql: SQL): Promise<string> {
  const [row] = await sql.unsafe(
    `SELECT (SELECT counter FROM cache_changes) AS counter,
            (SELECT coalesce(sum(data_revision), 0) FROM stores) AS revisions`,
  )
  return `${row.counter}:${row.revisions}`
}
