// Deterministic data sets for the benchmarks: sessions spread evenly over a span of days.
import { createWriteStream } from 'node:fs'
import { prng } from '../src/domain/demo.ts'

const DEVICES = ['desktop', 'mobile', 'mobile', 'tablet']
const SOURCES = ['direct', 'organic', 'paid', 'referral']
const PAGES = ['/', '/collections/all', '/products/a', '/products/b', '/products/c', '/pages/about']

export { prng }

/** The i-th session of a data set of `perDay` sessions a day ending at `endMs` (exclusive). */
export function sessionAt(
  i: number,
  perDay: number,
  endMs: number,
  total: number,
  rand: () => number,
) {
  const dayMs = 86_400_000
  const days = Math.ceil(total / perDay)
  const startMs = endMs - days * dayMs
  const started = startMs + Math.floor((i / total) * days * dayMs)
  const pageviews = 1 + Math.floor(rand() * 6)
  const viewed = rand() < 0.5
  const added = viewed && rand() < 0.25
  return {
    id: `s${i}`,
    visitor_id: `v${Math.floor(rand() * total * 0.7)}`,
    started_at: started,
    ended_at: started + pageviews * 30_000,
    pageviews,
    device: DEVICES[i % 4],
    source: SOURCES[Math.floor(rand() * 4)],
    landing_page: PAGES[Math.floor(rand() * PAGES.length)],
    viewed_product: viewed,
    added_to_cart: added,
    reached_checkout: added && rand() < 0.4,
  }
}

/** Writes `total` sessions as NDJSON to `path`. */
export async function writeSessionsNdjson(
  path: string,
  total: number,
  perDay: number,
  endMs: number,
) {
  const rand = prng(42)
  const out = createWriteStream(path)
  let chunk = ''
  for (let i = 0; i < total; i++) {
    chunk += `${JSON.stringify(sessionAt(i, perDay, endMs, total, rand))}\n`
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r))
      chunk = ''
    }
  }
  out.write(chunk)
  await new Promise((r) => out.end(r))
}
