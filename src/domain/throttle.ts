import type { Clock } from './clock.ts'
import { TooManyRequests } from './errors.ts'

export interface ThrottleOptions {
  /** Failures allowed inside the window before the address is refused. */
  maxFailures: number
  windowMs: number
  /** Addresses remembered at most; beyond it the oldest window is forgotten (default 100 000). */
  maxEntries?: number
}

/** The most keys a throttle or limiter remembers: about 15 MB, whatever the traffic. */
export const MAX_THROTTLE_ENTRIES = 100_000

interface Window {
  count: number
  since: number
}

/**
 * Counts per key in fixed windows. The Map is kept in window-start order (a window that starts
 * again is moved to the end), so ended windows are dropped from its front as new keys arrive:
 * each window is dropped once, amortised O(1) per request, and the size never passes the cap.
 */
class WindowCounts {
  private readonly windows = new Map<string, Window>()

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.windows.size
  }

  /** The key's window if it is still open; an ended one is dropped. */
  current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key)
    if (window && now - window.since >= this.windowMs) {
      this.windows.delete(key)
      return undefined
    }
    return window
  }

  /** Opens a window for a key that has none (after `current`), at the end of the map. */
  open(key: string, now: number): Window {
    // Ended windows leave from the front; at the cap, the oldest open one too (its key is
    // forgiven early: the price of bounded memory under a flood of distinct keys).
    for (const [oldest, window] of this.windows) {
      if (now - window.since < this.windowMs && this.windows.size < this.maxEntries) break
      this.windows.delete(oldest)
    }
    const window = { count: 0, since: now }
    this.windows.set(key, window)
    return window
  }

  forget(key: string): void {
    this.windows.delete(key)
  }

  /** Whole seconds (at least 1) until the window ends. */
  secondsLeft(window: Window, now: number): number {
    return Math.max(1, Math.ceil((window.since + this.windowMs - now) / 1000))
  }
}

/**
 * Counts failed attempts per address in a fixed window and refuses an address that used up its
 * allowance until the window ends. In memory: a restart forgives, which is acceptable for a
 * single-process server.
 */
export class FailureThrottle {
  private readonly windows: WindowCounts

  constructor(
    private readonly clock: Clock,
    private readonly options: ThrottleOptions = { maxFailures: 10, windowMs: 15 * 60_000 },
  ) {
    this.windows = new WindowCounts(options.windowMs, options.maxEntries ?? MAX_THROTTLE_ENTRIES)
  }

  /** Addresses remembered now (bounded by the cap). */
  get size(): number {
    return this.windows.size
  }

  /** Throws TooManyRequests (with seconds to wait) when the address is over its allowance. */
  check(address: string): void {
    this.refuseIfSpent(address, this.clock.now().epochMilliseconds)
  }

  /** Counts one failed attempt. */
  fail(address: string): void {
    const now = this.clock.now().epochMilliseconds
    const window = this.windows.current(address, now) ?? this.windows.open(address, now)
    window.count++
  }

  /**
   * `check` and `fail` in one step, before the outcome is known: an attempt whose check awaits
   * (a password hash) is counted at once, so concurrent attempts cannot all pass the check.
   * A success then calls `succeed`.
   */
  take(address: string): void {
    const now = this.clock.now().epochMilliseconds
    const window = this.refuseIfSpent(address, now) ?? this.windows.open(address, now)
    window.count++
  }

  /** Forgets an address's failures after a success. */
  succeed(address: string): void {
    this.windows.forget(address)
  }

  private refuseIfSpent(address: string, now: number): Window | undefined {
    const window = this.windows.current(address, now)
    if (window && window.count >= this.options.maxFailures) {
      throw new TooManyRequests(this.windows.secondsLeft(window, now))
    }
    return window
  }
}

/**
 * Allows at most `max` events per key in a fixed window (the collect endpoint: per visitor and
 * per address). In memory and bounded, like FailureThrottle.
 */
export class RateLimiter {
  private readonly windows: WindowCounts

  constructor(
    private readonly clock: Clock,
    private readonly options: { max: number; windowMs: number; maxEntries?: number },
    private readonly message = 'Too many requests, slow down',
  ) {
    this.windows = new WindowCounts(options.windowMs, options.maxEntries ?? MAX_THROTTLE_ENTRIES)
  }

  /** Keys remembered now (bounded by the cap). */
  get size(): number {
    return this.windows.size
  }

  /** Counts one event; throws TooManyRequests (with seconds to wait) when over the allowance. */
  take(key: string): void {
    const now = this.clock.now().epochMilliseconds
    const window = this.windows.current(key, now) ?? this.windows.open(key, now)
    if (window.count >= this.options.max) {
      throw new TooManyRequests(this.windows.secondsLeft(window, now), this.message)
    }
    window.count++
  }
}
