// The failed-attempt throttles (API keys, logins) when several nodes share one database: counted in
// the database (src/db/throttles.ts), so that an address spreading its attempts over the nodes of
// a load balancer gets the same allowance as against one. A single SQLite process uses the
// in-memory Throttle (src/lib/throttle.ts) instead; both answer to AttemptThrottle.
import type { Data } from '../db/data.ts'
import { countFailure, forgetWindow, pruneWindows, throttleWindow } from '../db/throttles.ts'
import type { ThrottleOptions } from '../lib/throttle.ts'

/**
 * Failed attempts per key: `check` before, `fail` after (it may refuse the attempt it counts:
 * one of a burst that passed the check together); `take` counts before the outcome is known;
 * `succeed` forgets the key.
 */
export interface AttemptThrottle {
  check(key: string): void | Promise<void>
  fail(key: string): void | Promise<void>
  take(key: string): void | Promise<void>
  succeed(key: string): void | Promise<void>
}

/**
 * How long a node trusts what it last read of an address's window before asking again: a check
 * per request would cost every sync call a round trip; a second lets another node's failures
 * count here within a second.
 */
const FRESH_MS = 1000

/** Prune ended windows every this many failures. */
const PRUNE_EVERY = 500

interface Seen {
  since: number
  count: number
  /** When this node read or wrote it. */
  at: number
}

/** A throttle whose counts live in the database, read through a short per-node cache. */
export class SharedThrottle implements AttemptThrottle {
  private readonly seen = new Map<string, Seen>()
  private failures = 0

  constructor(
    private readonly data: Data,
    /** The throttle's name in the table ('api-key', 'login'). */
    private readonly name: string,
    private readonly nowMs: () => number,
    private readonly options: ThrottleOptions,
    private readonly refuse: (retryAfterSeconds: number) => Error,
  ) {}

  async check(key: string): Promise<void> {
    this.refuseIfSpent(await this.window(key), this.nowMs())
  }

  /**
   * Counts the failure in the database (one statement), and refuses it when its count is past
   * the allowance: attempts that passed the check together (their outcome awaited the database)
   * get the allowance's worth of failures and refusals for the rest, as one by one.
   */
  async fail(key: string): Promise<void> {
    const now = this.nowMs()
    const counted = await this.count(key)
    if (counted.count > this.options.max) this.refuseIfSpent(counted, now)
  }

  /**
   * Counted in the database first, in one statement (concurrent attempts on any node each get
   * their own count), then refused when the count is past the allowance.
   */
  async take(key: string): Promise<void> {
    const now = this.nowMs()
    // Known to be spent already: refused without a write.
    const known = this.seen.get(key)
    if (known && now - known.at < FRESH_MS) this.refuseIfSpent(known, now)
    const counted = await this.count(key)
    if (counted.count > this.options.max) this.refuseIfSpent(counted, now)
  }

  async succeed(key: string): Promise<void> {
    this.seen.delete(key)
    await forgetWindow(this.data, this.name, key)
  }

  private refuseIfSpent(window: { since: number; count: number } | null, now: number): void {
    if (!window || now - window.since >= this.options.windowMs) return
    if (window.count >= this.options.max)
      throw this.refuse(Math.max(1, Math.ceil((window.since + this.options.windowMs - now) / 1000)))
  }

  /** The address's window as this node last saw it, read again when older than FRESH_MS. */
  private async window(key: string): Promise<Seen> {
    const now = this.nowMs()
    const known = this.seen.get(key)
    if (known && now - known.at < FRESH_MS) return known
    // No window is remembered too (as an empty one): an address that never failed, calling
    // again and again, is read once a second, not once a call.
    const stored = await throttleWindow(this.data, this.name, key)
    return this.remember(key, stored ?? { since: Number.NEGATIVE_INFINITY, count: 0 }, now)
  }

  /**
   * Counts one failure; resolves to this attempt's own place in the window (remembered as the
   * highest seen, but judged by its own: with answers out of order, the fifth of five allowed
   * must not be refused because the sixth's count came back first).
   */
  private async count(key: string): Promise<{ since: number; count: number }> {
    const now = this.nowMs()
    const { windowMs } = this.options
    const counted = await countFailure(this.data, this.name, key, now, windowMs)
    if (++this.failures % PRUNE_EVERY === 0)
      await pruneWindows(this.data, this.name, now - windowMs)
    this.remember(key, counted, now)
    return counted
  }

  private remember(key: string, window: { since: number; count: number }, now: number): Seen {
    // Counts of one window answered out of order (concurrent failures): the highest is the latest.
    const before = this.seen.get(key)
    const count =
      before && before.since === window.since ? Math.max(before.count, window.count) : window.count
    const seen = { since: window.since, count, at: now }
    this.seen.delete(key)
    this.seen.set(key, seen)
    // Bounded: the oldest readings go first (they are re-read when needed).
    for (const oldest of this.seen.keys()) {
      if (this.seen.size <= 10_000) break
      this.seen.delete(oldest)
    }
    return seen
  }
}
