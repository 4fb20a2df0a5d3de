import type { Data } from '../db/data.ts'
import type { Clock } from './clock.ts'
import { writeOrders, writeSessions } from './ingest/writers.ts'
import { startOfDay, storeDate } from './periods.ts'
import type { OrderRecord, SessionRecord } from './records.ts'
import type { Store } from './stores.ts'

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same store. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function pick<T>(rand: () => number, weighted: [T, number][]): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0)
  let r = rand() * total
  for (const [value, w] of weighted) {
    r -= w
    if (r < 0) return value
  }
  return weighted[weighted.length - 1]![0]
}

/** A normally distributed number (Box–Muller). */
function normal(rand: () => number, mean: number, sd: number): number {
  const u = 1 - rand()
  const v = rand()
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

// Monday … Sunday: shoppers browse more at the weekend.
const WEEKDAY_FACTOR = [0.9, 0.95, 1, 1, 1.1, 1.3, 1.25]
// Relative traffic by hour of the day, quiet at night, peaking in the evening.
const HOUR_WEIGHTS: [number, number][] = [
  0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.2, 1.3, 1.4, 1.3, 1.2, 1.2, 1.3, 1.4, 1.6,
  1.8, 1.9, 1.7, 1.2, 0.7,
].map((w, h) => [h, w])
const PRODUCTS = [
  'linen-shirt',
  'canvas-tote',
  'wool-beanie',
  'leather-wallet',
  'silk-scarf',
  'denim-jacket',
]
const LANDING: [string, number][] = [
  ['/', 40],
  ['/collections/all', 12],
  ['/collections/new-arrivals', 8],
  ...PRODUCTS.map((p, i): [string, number] => [`/products/${p}`, 9 - i]),
  ['/blogs/journal/how-to-style-linen', 5],
  ['/pages/about', 2],
]
const DEVICES: [SessionRecord['device'], number][] = [
  ['mobile', 60],
  ['desktop', 34],
  ['tablet', 6],
]
const SOURCES: [SessionRecord['source'], number][] = [
  ['organic', 38],
  ['direct', 28],
  ['paid', 20],
  ['referral', 14],
]

export interface DemoOptions {
  days: number
  seed: number
  /** Sessions on an average weekday. */
  dailySessions?: number
}

export interface DemoSummary {
  days: number
  from: string
  to: string
  sessions: number
  orders: number
}

const EPOCH_DAY = Temporal.PlainDate.from('2020-01-01')

/**
 * Fills the store with believable sessions and orders for the `days` days before today and
 * today so far. Each day is generated from (seed, date) alone, so re-running upserts the
 * same rows.
 */
export async function generateDemo(
  data: Data,
  store: Store,
  timeZone: string,
  options: DemoOptions,
  clock: Clock,
): Promise<DemoSummary> {
  const now = clock.now()
  const today = storeDate(now, timeZone)
  const base = options.dailySessions ?? 320
  let sessionCount = 0
  let orderCount = 0
  const first = today.subtract({ days: options.days })
  for (let day = first; Temporal.PlainDate.compare(day, today) <= 0; day = day.add({ days: 1 })) {
    const dayIndex = EPOCH_DAY.until(day).days
    const rand = prng(options.seed * 100_003 + dayIndex)
    const dayStart = startOfDay(day, timeZone)
    const dayLength = dayStart.until(startOfDay(day.add({ days: 1 }), timeZone)).total('hours')
    const growth = 1 + 0.004 * (dayIndex % 365)
    const target = Math.round(
      base * WEEKDAY_FACTOR[day.dayOfWeek - 1]! * growth * (0.88 + rand() * 0.24),
    )
    const sessions: SessionRecord[] = []
    const orders: OrderRecord[] = []
    let newVisitors = 0
    for (let i = 0; i < target; i++) {
      const hour = Math.min(pick(rand, HOUR_WEIGHTS), dayLength - 1)
      const started = dayStart.add({ hours: hour, seconds: Math.floor(rand() * 3600) })
      // Only what has already happened: today's sessions stop at now.
      if (Temporal.Instant.compare(started.toInstant(), now) > 0) continue
      let visitor: string
      if (rand() < 0.3 && dayIndex > 0) {
        const back = 1 + Math.floor(rand() * 30)
        visitor = `demo-v-${options.seed}-${dayIndex - back}-${Math.floor(rand() * 100)}`
      } else visitor = `demo-v-${options.seed}-${dayIndex}-${newVisitors++}`
      const source = pick(rand, SOURCES)
      const landing = pick(rand, LANDING)
      const bounced = rand() < 0.36
      const pageviews = bounced ? 1 : 2 + Math.floor(-Math.log(1 - rand()) * 3)
      const seconds = bounced ? Math.floor(rand() * 30) : pageviews * (20 + Math.floor(rand() * 70))
      const viewed = landing.startsWith('/products/') || (!bounced && rand() < 0.62)
      const added = viewed && !bounced && rand() < (source === 'paid' ? 0.28 : 0.2)
      const checkout = added && rand() < 0.47
      const id = `demo-s-${options.seed}-${day}-${i}`
      const startedMs = started.epochMilliseconds
      sessions.push({
        id,
        visitor_id: visitor,
        started_at: startedMs,
        ended_at: startedMs + seconds * 1000,
        pageviews,
        device: pick(rand, DEVICES),
        source,
        landing_page: landing,
        viewed_product: viewed,
        added_to_cart: added,
        reached_checkout: checkout,
      })
      if (checkout && rand() < 0.58) {
        const value = Math.max(12, Math.exp(normal(rand, 4.3, 0.45)))
        const cancelled = rand() < 0.03
        orders.push({
          id: `demo-o-${options.seed}-${day}-${i}`,
          name: `#D${dayIndex}${i}`,
          created_at: startedMs + seconds * 1000,
          total_price: Math.round(value * 100),
          currency: null,
          financial_status: rand() < 0.93 ? 'paid' : 'pending',
          cancelled_at: cancelled ? startedMs + seconds * 1000 + 3_600_000 : null,
          test: false,
          session_id: id,
        })
      }
    }
    await writeSessions(data, store, sessions, clock)
    if (orders.length > 0) await writeOrders(data, store, orders, clock)
    sessionCount += sessions.length
    orderCount += orders.length
  }
  return {
    days: options.days,
    from: first.toString(),
    to: today.toString(),
    sessions: sessionCount,
    orders: orderCount,
  }
}
