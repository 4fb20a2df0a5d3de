/**
 * Counts events per key (a client address, a visitor id) in fixed windows, in memory and bounded.
 * Generic: it knows nothing of HTTP or the store; a refusal is the error `refuse` makes.
 */

export interface ThrottleOptions {
  /** Events (failed attempts, tracker events) allowed per key inside one window. */
  max: number
  windowMs: number
  /** Keys remembered at most; beyond it the oldest window is forgotten (default 100 000). */
  maxEntries?: number
}

/** The most keys a throttle remembers: about 15 MB, whatever the traffic. */
export const MAX_THROTTLE_ENTRIES = 100_000

interface Window {
  count: number
  since: number
}

/**
 * One throttle for the three uses: failed API-key attempts (`check` before, `fail` after),
 * logins (`take` before the password is checked, `succeed` forgets), and tracker events (`take`).
 *
 * The Map is kept in window-start order (a window that starts again is moved to the end), so
 * ended windows are dropped from its front as new keys arrive: each window is dropped once,
 * amortised O(1) per call, and the size never passes the cap. A restart forgives, which is
 * acceptable for a single-process server.
 */
export class Throttle {
  private readonly windows = new Map<string, Window>()
  private readonly maxEntries: number

  constructor(
    /** The current time in epoch milliseconds. */
    private readonly nowMs: () => number,
    private readonly options: ThrottleOptions,
    /** The error a refusal throws, given the whole seconds (at least 1) until the window ends. */
    private readonly refuse: (retryAfterSeconds: number) => Error,
  ) {
    this.maxEntries = options.maxEntries ?? MAX_THROTTLE_ENTRIES
  }

  /** Keys remembered now (bounded by the cap). */
  get size(): number {
    return this.windows.size
  }

  /** Throws when the key has used up its allowance; counts nothing. */
  check(key: string): void {
    this.refuseIfSpent(key, this.nowMs())
  }

  /** Counts one event (a failed attempt) without checking. */
  fail(key: string): void {
    const now = this.nowMs()
    const window = this.current(key, now) ?? this.open(key, now)
    window.count++
  }

  /**
   * `check` and `fail` in one step, before the outcome is known: an attempt whose check awaits
   * (a password hash) is counted at once, so concurrent attempts cannot all pass the check.
   */
  take(key: string): void {
    const now = this.nowMs()
    const window = this.refuseIfSpent(key, now) ?? this.open(key, now)
    window.count++
  }

  /** Forgets a key's count (a successful login). */
  succeed(key: string): void {
    this.windows.delete(key)
  }

  private refuseIfSpent(key: string, now: number): Window | undefined {
    const window = this.current(key, now)
    if (window && window.count >= this.options.max) {
      throw this.refuse(Math.max(1, Math.ceil((window.since + this.options.windowMs - now) / 1000)))
    }
    return window
  }

  /** The key's window if it is still open; an ended one is dropped. */
  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key)
    if (window && now - window.since >= this.options.windowMs) {
      this.windows.delete(key)
      return undefined
    }
    return window
  }

  /** Opens a window for a key that has none (after `current`), at the end of the map. */
  private open(key: string, now: number): Window {
    // Ended windows leave from the front; at the cap, the oldest open one too (its key is
    // forgiven early: the price of bounded memory under a flood of distinct keys).
    for (const [oldest, window] of this.windows) {
      if (now - window.since < this.options.windowMs && this.windows.size < this.maxEntries) break
      this.windows.delete(oldest)
    }
    const window = { count: 0, since: now }
    this.windows.set(key, window)
    return window
  }
}
