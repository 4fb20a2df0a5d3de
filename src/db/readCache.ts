/**
 * Where a read cache learns that the database changed under it: a number that moves whenever
 * another connection (another process, another node) commits a change. SQLite answers at once
 * (`PRAGMA data_version`); PostgreSQL answers with a round trip, so its `version` is a promise.
 */
export interface ChangeSignal {
  /** True while the connection is inside a transaction whose reads must not be remembered. */
  inTransaction(): boolean
  /** The current change number. */
  version(): number | string | Promise<number | string>
}

/**
 * Memoises rarely-changing reads (settings, API keys, revisions) for one connection. Everything is
 * dropped when another connection commits (the engine's ChangeSignal moves: a CLI run beside the
 * server, another node on PostgreSQL) or when this process changes such data and calls
 * `invalidate`/`forget`. The signal is asked once per turn of the event loop: under load the
 * requests of one turn share the answer. A synchronous `peek` answers only once this turn's
 * answer is in (at once on SQLite; after the first `load` of the turn on PostgreSQL).
 */
export class ReadCache {
  private version: number | string = -1
  /** This turn's check: true once done, a promise while under way, false before it starts. */
  private checked: boolean | Promise<void> = false
  private readonly entries = new Map<string, unknown>()
  /** Moves whenever entries are dropped: a read that started before must not be remembered. */
  private generation = 0

  constructor(private readonly signal: ChangeSignal) {}

  /**
   * The cached value of `key`, read with the asynchronous `read` when absent (the data layer's
   * queries); not remembered when the cache was dropped while it was being read, or when null.
   */
  async load<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (this.checked !== true) await this.check()
    const cached = this.peek<T>(key)
    if (cached !== undefined) return cached
    const generation = this.generation
    const value = await read()
    // Read after this turn's check: remembered even when the read took turns of its own (a
    // round trip to PostgreSQL always does); a change seen meanwhile moved the generation.
    if (value !== null && value !== undefined && generation === this.generation)
      this.remember(key, value)
    return value
  }

  /** The cached value of `key`, or undefined (also while this turn's check is not answered). */
  peek<T>(key: string): T | undefined {
    if (this.signal.inTransaction()) return undefined
    if (this.checked === false) void this.check()
    if (this.checked !== true) return undefined
    return this.entries.get(key) as T | undefined
  }

  /** Asks the signal once for this turn (a check under way is shared); never rejects. */
  private check(): Promise<void> | undefined {
    if (this.checked === true) return undefined
    if (this.checked !== false) return this.checked
    const seen = (version: number | string) => {
      if (version !== this.version) {
        this.entries.clear()
        this.generation++
        this.version = version
      }
      // Good for the rest of this turn of the event loop.
      this.checked = true
      setImmediate(() => {
        this.checked = false
      })
    }
    const version = this.signal.version()
    if (typeof version !== 'object') {
      seen(version)
      return undefined
    }
    const pending = version.then(seen, () => {
      // The database did not answer: remember nothing this turn (the read will say why).
      this.entries.clear()
      this.generation++
      this.version = -1
      this.checked = false
    })
    this.checked = pending
    return pending
  }

  /** Remembers a value until the next change. */
  set(key: string, value: unknown): void {
    if (this.signal.inTransaction()) return
    if (this.checked === false) void this.check()
    if (this.checked !== true) return
    this.remember(key, value)
  }

  private remember(key: string, value: unknown): void {
    if (this.signal.inTransaction()) return
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

// A few entries per store in use (settings, revision, keys, the store, its current sync): room
// for well over a thousand busy stores before it starts over.
const MAX_ENTRIES = 20_000
