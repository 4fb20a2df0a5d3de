import type { Database } from 'bun:sqlite'

/**
 * Memoises rarely-changing reads (settings, API keys) for one connection. Everything is dropped
 * when another connection commits (SQLite's `PRAGMA data_version` moves: a CLI run beside the
 * server) or when this process changes such data and calls `invalidate`.
 */
export class ReadCache {
  private version = -1
  /** True while the version has been checked in the current synchronous run of code. */
  private checked = false
  private readonly entries = new Map<string, unknown>()
  /** Moves whenever entries are dropped: a read that started before must not be remembered. */
  private generation = 0
  private readonly versionQuery

  constructor(private readonly db: Database) {
    this.versionQuery = db.query('PRAGMA data_version')
  }

  /** The cached value of `key`, loaded with `load` when absent or when the database moved; null is not cached. */
  get<T>(key: string, load: () => T): T {
    // Inside a transaction the data may be uncommitted (and rolled back): read it, keep nothing.
    if (this.db.inTransaction) return load()
    const cached = this.peek<T>(key)
    if (cached !== undefined) return cached
    const value = load()
    // Absent things are not remembered: a stream of made-up keys must not fill memory.
    if (value !== null && value !== undefined) this.set(key, value)
    return value
  }

  /**
   * The cached value of `key`, read with the asynchronous `read` when absent (the data layer's
   * queries); not remembered when the cache was dropped while it was being read, or when null.
   */
  async load<T>(key: string, read: () => Promise<T>): Promise<T> {
    const cached = this.peek<T>(key)
    if (cached !== undefined) return cached
    const generation = this.generation
    const value = await read()
    if (value !== null && value !== undefined && generation === this.generation)
      this.set(key, value)
    return value
  }

  /** The cached value of `key`, or undefined. */
  peek<T>(key: string): T | undefined {
    if (this.db.inTransaction) return undefined
    // One check per turn of the event loop: under load the requests of one turn share it.
    if (!this.checked) {
      this.checked = true
      setImmediate(() => {
        this.checked = false
      })
      const { data_version } = this.versionQuery.get() as { data_version: number }
      if (data_version !== this.version) {
        this.entries.clear()
        this.generation++
        this.version = data_version
      }
    }
    return this.entries.get(key) as T | undefined
  }

  /** Remembers a value until the next change. */
  set(key: string, value: unknown): void {
    if (this.db.inTransaction) return
    // A bound on memory: past it, start over (entries are cheap to load again).
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
    this.entries.set(key, value)
  }

  /** Forgets one entry (after this process changed what it holds). */
  forget(key: string): void {
    this.entries.delete(key)
    this.generation++
  }

  /** Forgets every entry (after this process wrote settings or keys). */
  invalidate(): void {
    this.entries.clear()
    this.generation++
  }
}

const MAX_ENTRIES = 1000
