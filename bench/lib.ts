// Shared helpers for the benchmarks: data sets, timing, memory sampling, printing.
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export const OUT = join(import.meta.dir, 'out')
mkdirSync(OUT, { recursive: true })

export const DAY_MS = 86_400_000
/** Every data set ends at this instant, so the figures do not depend on today's date. */
export const END_MS = Date.parse('2026-11-26T00:00:00Z')

/** A result line: the figure, the target, and whether it is met. */
export function report(what: string, figure: string, target: string, met: boolean): void {
  console.log(`${met ? 'PASS' : 'MISS'}  ${what.padEnd(52)} ${figure.padEnd(24)} target ${target}`)
}

/** Milliseconds a synchronous or async function takes. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<[T, number]> {
  const t = performance.now()
  const value = await fn()
  return [value, performance.now() - t]
}

/** Samples a process's RSS (from /proc) every 50 ms until stopped: the peak, and every sample. */
export function sampleRss(pid: number = process.pid): {
  stop: () => number
  peak: () => number
  samples: () => number[]
} {
  let peak = 0
  const samples: number[] = []
  const read = () => {
    try {
      const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
      const mb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
      // A process that has exited reads as 0: not a sample.
      if (mb > 0) samples.push(mb)
      peak = Math.max(peak, mb)
    } catch {}
  }
  read()
  const timer = setInterval(read, 50)
  return {
    stop: () => {
      clearInterval(timer)
      read()
      return peak
    },
    peak: () => peak,
    samples: () => samples,
  }
}

/** The current RSS of a process in MB. */
export function rssMb(pid: number = process.pid): number {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

export function exists(path: string): boolean {
  return existsSync(path)
}
