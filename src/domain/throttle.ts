import type { Clock } from './clock.ts'
import { TooManyRequests } from './errors.ts'

export interface ThrottleOptions {
  /** Failures allowed inside the window before the address is refused. */
  maxFailures: number
  windowMs: number
}

/**
 * Counts failed attempts per address in a fixed window and refuses an address that used up its
 * allowance until the window ends. In memory: a restart forgives, which is acceptable for a
 * single-process server.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>()

  constructor(
    private readonly clock: Clock,
    private readonly options: ThrottleOptions = { maxFailures: 10, windowMs: 15 * 60_000 },
  ) {}

  /** Throws TooManyRequests (with seconds to wait) when the address is over its allowance. */
  check(address: string): void {
    const entry = this.current(address)
    if (entry && entry.count >= this.options.maxFailures) {
      const waitMs = entry.since + this.options.windowMs - this.clock.now().epochMilliseconds
      throw new TooManyRequests(Math.max(1, Math.ceil(waitMs / 1000)))
    }
  }

  /** Counts one failed attempt. */
  fail(address: string): void {
    const entry = this.current(address)
    if (entry) entry.count++
    else {
      if (this.failures.size > 10_000) this.prune()
      this.failures.set(address, { count: 1, since: this.clock.now().epochMilliseconds })
    }
  }

  /** Forgets an address's failures after a success. */
  succeed(address: string): void {
    this.failures.delete(address)
  }

  private current(address: string) {
    const entry = this.failures.get(address)
    if (!entry) return undefined
    if (this.clock.now().epochMilliseconds - entry.since >= this.options.windowMs) {
      this.failures.delete(address)
      return undefined
    }
    return entry
  }

  private prune(): void {
    const now = this.clock.now().epochMilliseconds
    for (const [address, entry] of this.failures) {
      if (now - entry.since >= this.options.windowMs) this.failures.delete(address)
    }
  }
}

/**
 * Allows at most `max` events per key in a fixed window (the collect endpoint: per visitor).
 * In memory, like FailureThrottle; keys whose window has ended are pruned as the map grows.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; since: number }>()

  constructor(
    private readonly clock: Clock,
    private readonly options: { max: number; windowMs: number },
    private readonly message = 'Too many requests, slow down',
  ) {}

  /** Counts one event; throws TooManyRequests (with seconds to wait) when over the allowance. */
  take(key: string): void {
    const now = this.clock.now().epochMilliseconds
    let entry = this.windows.get(key)
    if (!entry || now - entry.since >= this.options.windowMs) {
      if (!entry && this.windows.size > 50_000) this.prune(now)
      entry = { count: 0, since: now }
      this.windows.set(key, entry)
    }
    if (entry.count >= this.options.max) {
      const waitMs = entry.since + this.options.windowMs - now
      throw new TooManyRequests(Math.max(1, Math.ceil(waitMs / 1000)), this.message)
    }
    entry.count++
  }

  private prune(now: number): void {
    for (const [key, entry] of this.windows) {
      if (now - entry.since >= this.options.windowMs) this.windows.delete(key)
    }
  }
}
