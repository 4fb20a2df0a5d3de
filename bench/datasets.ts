// Deterministic data sets for the benchmarks, sessions spread evenly over a span of days. Two
// shapes: the first benchmarks' own ("bench": in time order, short sequential ids, every field
// given) and a realistic one, as merchants' files look (random ids, ~3 sessions per visitor at
// random times, microsecond timestamps, lines relying on defaults, lines sent again with new
// values, a few bad lines), written in time order ("sorted") or out of it ("shuffled").
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

/** The data sets the benchmarks run on: the first benchmarks' own, the realistic one in two orders. */
export type Dataset = 'bench' | 'sorted' | 'shuffled'

/** A 32-bit hash of (n, salt): the shuffled set's randomness, the same whatever order lines are made in. */
function hash32(n: number, salt: number): number {
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 0x27d4eb2f, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  return (h ^ (h >>> 16)) >>> 0
}

const unit = (n: number, salt: number) => hash32(n, salt) / 4294967296

/** A random-looking id of 16 hex digits for (n, salt). */
function hexId(n: number, salt: number): string {
  return (
    hash32(n, salt).toString(16).padStart(8, '0') +
    hash32(n, salt + 1)
      .toString(16)
      .padStart(8, '0')
  )
}

/** An ISO time with microseconds, as some exporters write them. */
function isoMicros(ms: number, micros: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`
}

/** The step of the shuffle: near total / golden ratio and prime to total, so k -> k * step mod total is a permutation. */
const strides = new Map<number, number>()
function strideFor(total: number): number {
  const known = strides.get(total)
  if (known !== undefined) return known
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  let step = Math.floor(total * 0.6180339887)
  while (gcd(step, total) !== 1) step++
  strides.set(total, step)
  return step
}

/**
 * The realistic set's k-th line, of `total` sessions over days ending at `endMs`. Shuffled, it is
 * session i = k * step mod total in time order (strideFor), so neighbouring lines lie days apart;
 * sorted, session k. About total / 3 visitors with random ids (three sessions each on average, at
 * random times); 10 % of lines give only the required fields.
 */
export function realisticSessionAt(
  k: number,
  perDay: number,
  endMs: number,
  total: number,
  shuffled: boolean,
) {
  // Exact in doubles: k * step < 10^7 * 10^7, far below 2^53.
  const i = shuffled ? (k * strideFor(total)) % total : k
  const dayMs = 86_400_000
  const days = Math.ceil(total / perDay)
  const started = endMs - days * dayMs + Math.floor((i / total) * days * dayMs)
  const micros = hash32(i, 1) % 1000
  const visitor = hexId(hash32(i, 2) % Math.max(1, Math.floor(total / 3)), 3)
  const id = `${hexId(i, 5)}-${hexId(i, 7)}`
  if (hash32(i, 9) % 10 === 0) {
    return { id, visitor_id: visitor, started_at: isoMicros(started, micros) }
  }
  const pageviews = 1 + (hash32(i, 11) % 6)
  const viewed = unit(i, 12) < 0.5
  const added = viewed && unit(i, 13) < 0.25
  return {
    id,
    visitor_id: visitor,
    started_at: isoMicros(started, micros),
    ended_at: isoMicros(started + pageviews * 30_000, micros),
    pageviews,
    device: DEVICES[hash32(i, 14) % 4],
    source: SOURCES[hash32(i, 15) % 4],
    landing_page: `https://shop.example${PAGES[hash32(i, 16) % PAGES.length]}?utm_source=x${hash32(i, 17) % 50}`,
    viewed_product: viewed,
    added_to_cart: added,
    reached_checkout: added && unit(i, 18) < 0.4,
  }
}

/** One line in this many is sent again later with new values; one in BAD_EVERY is refused. */
export const RESENT_EVERY = 50
export const BAD_EVERY = 10_000

/**
 * Writes the realistic set of `total` distinct sessions to `path`, shuffled or in time order:
 * every session once, every
 * RESENT_EVERY-th one again 1 000 lines later with one more pageview, and a bad line (no
 * started_at, or a device we do not know, or cut short) every BAD_EVERY lines. Returns how many
 * lines of each kind it wrote.
 */
export async function writeRealisticSessionsNdjson(
  path: string,
  total: number,
  perDay: number,
  endMs: number,
  shuffled: boolean,
): Promise<{ sessions: number; resent: number; bad: number }> {
  const out = createWriteStream(path)
  let chunk = ''
  let resent = 0
  let bad = 0
  const line = (value: unknown) => {
    chunk += `${JSON.stringify(value)}\n`
  }
  for (let k = 0; k < total + 1000; k++) {
    if (k < total) line(realisticSessionAt(k, perDay, endMs, total, shuffled))
    const back = k - 1000
    if (back >= 0 && back % RESENT_EVERY === 0) {
      const again = realisticSessionAt(back, perDay, endMs, total, shuffled) as {
        pageviews?: number
      }
      line({ ...again, pageviews: (again.pageviews ?? 1) + 1 })
      resent++
    }
    if (k % BAD_EVERY === BAD_EVERY - 1) {
      const kind = bad % 3
      if (kind === 0) line({ id: `bad${k}`, visitor_id: 'v' })
      else if (kind === 1) line({ id: `bad${k}`, visitor_id: 'v', started_at: 0, device: 'phone' })
      else chunk += `{"id":"bad${k}","visitor_id":"v","started_at":\n`
      bad++
    }
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r))
      chunk = ''
    }
  }
  out.write(chunk)
  await new Promise((r) => out.end(r))
  return { sessions: total, resent, bad }
}
