/**
 * At most `size` jobs at once: `run` starts a job when a slot is free, else queues it (first
 * come, first served). A job that fails frees its slot like one that succeeds.
 */
export class Slots {
  private busy = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly size: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.busy++
    try {
      return await job()
    } finally {
      const next = this.waiting.shift()
      // The slot passes straight to the next job in line; else it is freed.
      if (next) next()
      else this.busy--
    }
  }
}
