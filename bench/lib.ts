// Shared helpers for the benchmarks: data sets, timing, memory sampling, printing.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
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

/**
 * Writes a wrk script posting tracker pageviews to OUT/`name`.lua; `visitor` is Lua code that
 * sets `v`, the visitor id, and `n`, its number. With several tracking ids, each visitor's events
 * go to one of them (the `n % count`-th): the events are spread over the stores. Returns its path.
 */
export function collectScript(
  name: string,
  trackingIds: string | readonly string[],
  visitor: string,
): string {
  const path = join(OUT, `${name}.lua`)
  const stores = (typeof trackingIds === 'string' ? [trackingIds] : trackingIds)
    .map((id) => JSON.stringify(id))
    .join(', ')
  writeFileSync(
    path,
    `
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
wrk.headers["Origin"] = "https://shop.example"
local paths = { "/", "/products/a", "/collections/all", "/cart" }
local stores = { ${stores} }
request = function()
  ${visitor}
  local store = stores[n % #stores + 1]
  local body = '{"store":"' .. store .. '","visitor":"' .. v .. '","event":"pageview","url":"https://shop.example' .. paths[math.random(1, 4)] .. '","referrer":""}'
  return wrk.format(nil, "/apiv1/collect", nil, body)
end
`,
  )
  return path
}

/** The two visitor mixes of the collect benches, as Lua setting `v` (and `n`, its number). */
export const COLLECT_MIXES = {
  /** A realistic mix: visits of 5 events of one visitor, one visit after another. */
  visits: `counter = (counter or 0) + 1
  prefix = prefix or string.format("%06d", math.random(0, 999999))
  local n = math.floor(counter / 5)
  local v = string.format("visit%s%09d", prefix, n)`,
  /** The worst case: every event from one of 200 000 visitors drawn uniformly at random. */
  uniform: `local n = math.random(1, 200000)
  local v = string.format("bench%08d", n)`,
} as const
