/**
 * A background job's timer: runs `run` at start, then every interval until stopped. A run that
 * throws (or rejects) goes to `onError`, so one bad run never stops the timer; an asynchronous
 * run still going when the next is due is not started twice.
 */
export class PeriodicTask {
  private timer: ReturnType<typeof setInterval> | undefined
  /** The asynchronous run in progress, if any. */
  private running: Promise<void> | null = null

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

  /** Resolves once the run in progress (if any) has ended. */
  async settled(): Promise<void> {
    await this.running
  }

  private safeRun(): void {
    if (this.running) return
    try {
      const result = this.run()
      if (result instanceof Promise) {
        this.running = result
          .then(
            () => {},
            (err) => this.onError(err as Error),
          )
          .finally(() => {
            this.running = null
          })
      }
    } catch (err) {
      this.onError(err as Error)
    }
  }
}
