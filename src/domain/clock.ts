/** Where the code asks for the current time; tests inject a fixed or stepped clock. */
export interface Clock {
  now(): Temporal.Instant
}

/** The wall clock of the machine. */
export const systemClock: Clock = { now: () => Temporal.Now.instant() }

/** A clock that only moves when told to, for tests and reproducible CLI runs. */
export class FixedClock implements Clock {
  private current: Temporal.Instant
  constructor(at: string | Temporal.Instant) {
    this.current = typeof at === 'string' ? Temporal.Instant.from(at) : at
  }
  now(): Temporal.Instant {
    return this.current
  }
  set(at: string | Temporal.Instant): void {
    this.current = typeof at === 'string' ? Temporal.Instant.from(at) : at
  }
  advance(duration: Temporal.DurationLike): void {
    this.current = this.current.add(duration)
  }
}

/** Milliseconds since the epoch, the unit every timestamp column uses. */
export const nowMs = (clock: Clock): number => clock.now().epochMilliseconds
