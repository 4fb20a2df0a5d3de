// The data layer's boundary: what domain code may ask of a database. Every result is a promise
// so that the same domain code can run over a network database (PostgreSQL, next); the SQLite
// engine answers at once. Domain modules never see `bun:sqlite`; they call the query modules of
// src/db/ (one per table or aggregate), which write their SQL against this interface.

import type { Secrets } from '../domain/secrets.ts'
import type { Database } from './database.ts'
import type { ReadCache } from './readCache.ts'

/** A value a statement can be given. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array

/** How a transaction is opened. */
export interface TxOptions {
  /**
   * Only reads, which must all see one snapshot (a sync's metrics). SQLite opens it deferred, so
   * it takes no write lock; PostgreSQL will open it READ ONLY, REPEATABLE READ.
   */
  readOnly?: boolean
}

/**
 * Statements with positional `?` parameters. SQL is written portably where it costs nothing:
 * `ON CONFLICT`, `RETURNING`, `count(*) FILTER (WHERE …)`, no `INSERT OR …`, no rowid.
 */
export interface Queries {
  /** Every row the statement returns. */
  all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]>
  /** The first row the statement returns, or null. */
  get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null>
  /**
   * Every row as an array of its values, in the statement's column order: for reads of many
   * rows (a period's sessions), which skip building an object per row.
   */
  values<Row extends SqlValue[]>(sql: string, ...params: SqlValue[]): Promise<Row[]>
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, ...params: SqlValue[]): Promise<number>
  /**
   * Runs `work` in one transaction given its own handle: every statement of the transaction goes
   * through `q` (never through the handle `tx` was called on, which waits for the transaction to
   * end). Committed when `work` resolves, rolled back when it throws; inside a transaction, a
   * nested `q.tx` is a savepoint. `work` awaits only the database: no mail, no network.
   */
  tx<T>(work: (q: Queries) => Promise<T>, options?: TxOptions): Promise<T>
}

/** An open database as the domain sees it: its queries, read cache and secrets. */
export interface Data extends Queries {
  /** Which engine answers. */
  readonly engine: 'sqlite' | 'postgres'
  /** Memoised rarely-changing reads (settings, API keys, revisions), dropped on any change. */
  readonly cache: ReadCache
  /** MIDA_SECRET_KEY's sealing, which every stored secret goes through. */
  readonly secrets: Secrets
  /** Closes the connection (SQLite) or the pool (PostgreSQL). */
  close(): Promise<void>
}

/**
 * The SQLite engine: one connection, whose statements run synchronously. A transaction spans
 * awaits, so while one is open every statement from outside it waits for its end (the connection
 * would otherwise run them inside it); so do the engine's own bulk writers (`exclusive`).
 */
export class SqliteData implements Data {
  readonly engine = 'sqlite'
  /** Resolves when the open transaction ends; null when none is open. */
  #open: Promise<void> | null = null

  constructor(readonly db: Database) {}

  get cache(): ReadCache {
    return this.db.cache
  }

  get secrets(): Secrets {
    return this.db.secrets
  }

  async close(): Promise<void> {
    this.db.close()
  }

  async all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    while (this.#open) await this.#open
    return this.db.query(sql).all(...params) as Row[]
  }

  async get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null> {
    while (this.#open) await this.#open
    return this.db.query(sql).get(...params) as Row | null
  }

  async values<Row extends SqlValue[]>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    while (this.#open) await this.#open
    return this.db.query(sql).values(...params) as Row[]
  }

  async run(sql: string, ...params: SqlValue[]): Promise<number> {
    while (this.#open) await this.#open
    return this.db.query(sql).run(...params).changes
  }

  async tx<T>(work: (q: Queries) => Promise<T>, options: TxOptions = {}): Promise<T> {
    while (this.#open) await this.#open
    let end!: () => void
    this.#open = new Promise((resolve) => {
      end = resolve
    })
    const q = new SqliteTransaction(this.db)
    try {
      // IMMEDIATE takes the write lock now, so two processes' read-then-write cannot deadlock.
      this.db.exec(options.readOnly ? 'BEGIN' : 'BEGIN IMMEDIATE')
      const result = await work(q)
      this.db.exec('COMMIT')
      return result
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK')
      throw err
    } finally {
      q.closed = true
      this.#open = null
      end()
    }
  }

  /**
   * Runs an engine-specific synchronous writer (the first load, the tracker's batches) on the
   * connection once no transaction is open: the hot paths that bypass the query interface.
   */
  async exclusive<T>(write: (db: Database) => T): Promise<T> {
    while (this.#open) await this.#open
    return write(this.db)
  }
}

/** The handle of an open SQLite transaction; nested transactions are savepoints. */
class SqliteTransaction implements Queries {
  closed = false
  #savepoints = 0

  constructor(private readonly db: Database) {}

  #check(): void {
    if (this.closed) throw new Error('This transaction has ended; use the handle it was given')
  }

  async all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    this.#check()
    return this.db.query(sql).all(...params) as Row[]
  }

  async get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null> {
    this.#check()
    return this.db.query(sql).get(...params) as Row | null
  }

  async values<Row extends SqlValue[]>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    this.#check()
    return this.db.query(sql).values(...params) as Row[]
  }

  async run(sql: string, ...params: SqlValue[]): Promise<number> {
    this.#check()
    return this.db.query(sql).run(...params).changes
  }

  async tx<T>(work: (q: Queries) => Promise<T>): Promise<T> {
    this.#check()
    const name = `sp${++this.#savepoints}`
    this.db.exec(`SAVEPOINT ${name}`)
    try {
      const result = await work(this)
      this.db.exec(`RELEASE ${name}`)
      return result
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}`)
      this.db.exec(`RELEASE ${name}`)
      throw err
    }
  }
}
