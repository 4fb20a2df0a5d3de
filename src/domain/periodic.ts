/**
 * A background job's timer: runs `run` at start, then every interval until stopped. A run that
 * throws goes to `onError`, so one bad run never stops the timer.
 */
export class PeriodicTask {
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly run: () => unknown,
    private readonly onError: (err: Error) => void,
  ) {}

  /** True between `start` and `stop`. */
  get started(): boolean {
    return this.timer !== undefined
  }

  /** Runs now, then every `intervalMs`; a second start while started does nothing. */
  start(intervalMs: number): void {
    if (this.timer) return
    this.timer = setInterval(() => this.safeRun(), intervalMs)
    this.safeRun()
  }

  /** Stops the timer; a run in progress is not interrupted. */
  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private safeRun(): void {
    try {
      // A run that returns a promise reports its rejection the same way.
      const result = this.run()
      if (result instanceof Promise) result.catch((err: unknown) => this.onError(err as Error))
    } catch (err) {
      this.onError(err as Error)
    }
  }
}
