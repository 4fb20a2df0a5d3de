import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { sessionSpread } from '../../src/db/metrics.ts'
import { prng } from '../../src/domain/demo.ts'
import { writeSessions } from '../../src/domain/ingest/writers.ts'
import type { SessionRecord } from '../../src/domain/records.ts'
import { openTestStore, type TestStore } from '../utils.ts'

// sessionSpread counts in JS what the database would answer with count(DISTINCT) and GROUP BY:
// these tests hold it to the engine's own answers over the same rows (SQLite's BINARY order and
// PostgreSQL's "C" collation both compare UTF-8 bytes).

const DAY = 86_400_000
const START = Date.parse('2026-11-16T00:00:00Z')
/** Eight days end to end; the fourth and the last have no session. */
const BOUNDS = Array.from({ length: 9 }, (_, i) => START + i * DAY)
const EMPTY_DAYS = [3, 7]

let t: TestStore
beforeEach(async () => {
  t = await openTestStore()
})
afterEach(() => t.close())

const session = (id: string, visitor_id: string, started_at: number, landing_page: string) =>
  ({
    id,
    visitor_id,
    started_at,
    ended_at: started_at,
    pageviews: 1,
    device: 'desktop',
    source: 'direct',
    landing_page,
    viewed_product: false,
    added_to_cart: false,
    reached_checkout: false,
  }) satisfies SessionRecord

const write = (sessions: SessionRecord[]) => writeSessions(t.data, t.store, sessions, t.clock)

/** What the database answers for the sessions started in [from, to). */
async function counted(from: number, to: number) {
  const range = 'FROM sessions WHERE store_id = ? AND started_at >= ? AND started_at < ?'
  const visitors = await t.data.get<{ n: number }>(
    `SELECT count(DISTINCT visitor_id) AS n ${range}`,
    t.storeId,
    from,
    to,
  )
  const pages = await t.data.all<{ path: string; sessions: number }>(
    `SELECT landing_page AS path, count(*) AS sessions ${range}
     GROUP BY landing_page ORDER BY count(*) DESC, landing_page ASC LIMIT 10`,
    t.storeId,
    from,
    to,
  )
  return { visitors: visitors!.n, pages }
}

/**
 * Landing pages with the number of sessions in the range that start on each. Ties whose order
 * differs between UTF-16 code units (JS's `<`) and UTF-8 bytes (SQLite's BINARY): U+FF21 is
 * EF BC A1 in UTF-8, before U+1F600's F0 9F 98 80, but its code unit 0xFF21 comes after the
 * surrogate 0xD83D. The tenth place falls inside the group of 50.
 */
const PAGE_COUNTS: [string, number][] = [
  ['/', 400],
  ['/\u{1F600}', 200],
  ['/\uFF21', 200],
  ['/cart', 200],
  ['/products/a', 150],
  ['/collections/all', 100],
  ['/\u{1F600}y', 50],
  ['/\u{1F600}x', 50],
  ['/y', 50],
  ['/\uFF21x', 50],
  ['/x', 50],
  // 1500 more sessions over 40 pages of 37 or 38 each
  ...Array.from({ length: 40 }, (_, i) => [`/r${i}`, i < 20 ? 38 : 37] as [string, number]),
]
const IN_RANGE = PAGE_COUNTS.reduce((sum, [, n]) => sum + n, 0)

/** The expected top ten, written out: the order of UTF-8 bytes. */
const TOP_TEN = [
  { path: '/', sessions: 400 },
  { path: '/cart', sessions: 200 },
  { path: '/\uFF21', sessions: 200 },
  { path: '/\u{1F600}', sessions: 200 },
  { path: '/products/a', sessions: 150 },
  { path: '/collections/all', sessions: 100 },
  { path: '/x', sessions: 50 },
  { path: '/y', sessions: 50 },
  { path: '/\uFF21x', sessions: 50 },
  { path: '/\u{1F600}x', sessions: 50 },
]

/** Fisher-Yates with the seeded generator. */
function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/**
 * 3000 sessions in the range (random visitors among 600, random days but the empty ones, random
 * times, written in random order) with the page counts above; sessions on the range's edges;
 * 500 outside it landing on '/outside'; and the visitor 'multi' on days 0, 2, 4 and 6, twice a
 * day.
 */
function generated(): SessionRecord[] {
  const rand = prng(16)
  const days = [0, 1, 2, 4, 5, 6]
  const pages = shuffle(
    PAGE_COUNTS.flatMap(([path, n]) => Array<string>(n).fill(path)),
    rand,
  )
  const visitor = () => `v${Math.floor(rand() * 600)}`
  const inside = pages.map((page, i) => {
    const day = days[Math.floor(rand() * days.length)]!
    return session(`s${i}`, visitor(), BOUNDS[day]! + Math.floor(rand() * DAY), page)
  })
  // Exactly on the edges: the first instant of the range and of day 1, the last of day 6.
  inside[0]!.started_at = BOUNDS[0]!
  inside[1]!.started_at = BOUNDS[1]!
  inside[2]!.started_at = BOUNDS[7]! - 1
  // Visitors seen only there, so a session counted on the wrong side of an edge shows.
  for (const i of [0, 1, 2]) inside[i]!.visitor_id = `edge${i}`
  for (const [i, day] of [0, 0, 2, 2, 4, 4, 6, 6].entries()) {
    inside[10 + i]!.visitor_id = 'multi'
    inside[10 + i]!.started_at = BOUNDS[day]! + i * 3_600_000
  }
  for (const s of inside) s.ended_at = s.started_at
  const outside = Array.from({ length: 500 }, (_, i) => {
    // Before the range or from its end on, the first and last instants included.
    const at =
      i === 0
        ? BOUNDS[0]! - 1
        : i === 1
          ? BOUNDS[8]!
          : i % 2 === 0
            ? BOUNDS[0]! - 1 - Math.floor(rand() * 3 * DAY)
            : BOUNDS[8]! + Math.floor(rand() * 3 * DAY)
    return session(`o${i}`, i < 250 ? visitor() : `outsider${i}`, at, '/outside')
  })
  return shuffle([...inside, ...outside], rand)
}

describe('sessionSpread on a few thousand generated sessions', () => {
  beforeEach(async () => {
    const sessions = generated()
    expect(sessions).toHaveLength(IN_RANGE + 500)
    // In batches, as an import writes them.
    for (let i = 0; i < sessions.length; i += 1000) await write(sessions.slice(i, i + 1000))
  })

  test('distinct visitors of the range and of each day, and the top pages, are what the database counts', async () => {
    const spread = await sessionSpread(t.data, t.storeId, BOUNDS)
    const whole = await counted(BOUNDS[0]!, BOUNDS[8]!)
    const parts: number[] = []
    for (let i = 0; i < 8; i++) parts.push((await counted(BOUNDS[i]!, BOUNDS[i + 1]!)).visitors)
    expect(spread).toEqual({
      visitors: whole.visitors,
      partVisitors: parts,
      topLandingPages: whole.pages,
    })
    // The database's answers are the expected ones: the order written out above, the empty days 0.
    expect(whole.pages).toEqual(TOP_TEN)
    for (const day of EMPTY_DAYS) expect(spread.partVisitors[day]).toBe(0)
    // Sessions on 6 days among 600 visitors: nearly all of them come, and most come on a day.
    expect(whole.visitors).toBeGreaterThan(550)
    for (const day of [0, 1, 2, 4, 5, 6]) expect(spread.partVisitors[day]).toBeGreaterThan(250)
  })

  test('every sub-range and split of the days agrees with the database', async () => {
    const splits = [
      [0, 1],
      [3, 4], // the empty day alone
      [7, 8], // the empty last day alone
      [2, 3, 4, 5],
      [0, 2, 8], // parts of several days
      [1, 3, 4, 8], // an empty part in the middle
      [0, 1, 2, 3, 4, 5, 6, 7],
    ]
    for (const split of splits) {
      const bounds = split.map((i) => BOUNDS[i]!)
      const spread = await sessionSpread(t.data, t.storeId, bounds)
      const parts: number[] = []
      for (let i = 0; i + 1 < bounds.length; i++)
        parts.push((await counted(bounds[i]!, bounds[i + 1]!)).visitors)
      const whole = await counted(bounds[0]!, bounds.at(-1)!)
      expect({ split, ...spread }).toEqual({
        split,
        visitors: whole.visitors,
        partVisitors: parts,
        topLandingPages: whole.pages,
      })
    }
  })
})

describe('sessionSpread, hand-counted', () => {
  test('a visitor seen on several days counts once for the range and once on each day', async () => {
    await write([
      session('a', 'multi', BOUNDS[0]!, '/'),
      session('b', 'multi', BOUNDS[0]! + 3_600_000, '/'),
      session('c', 'multi', BOUNDS[2]! + 3_600_000, '/'),
      session('d', 'other', BOUNDS[2]! + 7_200_000, '/b'),
      // At the first instant of the last day: that day's, not the one before.
      session('e', 'edge', BOUNDS[3]!, '/b'),
    ])
    expect(await sessionSpread(t.data, t.storeId, BOUNDS.slice(0, 5))).toEqual({
      visitors: 3,
      partVisitors: [1, 0, 2, 1],
      topLandingPages: [
        { path: '/', sessions: 3 },
        { path: '/b', sessions: 2 },
      ],
    })
  })

  test('one entry per part, 0 for parts without sessions, whatever the range holds', async () => {
    expect(await sessionSpread(t.data, t.storeId, BOUNDS)).toEqual({
      visitors: 0,
      partVisitors: [0, 0, 0, 0, 0, 0, 0, 0],
      topLandingPages: [],
    })
    // A session only on the last day, and one only on the first.
    await write([session('late', 'v', BOUNDS[7]! + 1, '/')])
    expect((await sessionSpread(t.data, t.storeId, BOUNDS)).partVisitors).toEqual([
      0, 0, 0, 0, 0, 0, 0, 1,
    ])
    await write([session('early', 'w', BOUNDS[0]!, '/')])
    expect((await sessionSpread(t.data, t.storeId, BOUNDS)).partVisitors).toEqual([
      1, 0, 0, 0, 0, 0, 0, 1,
    ])
  })

  test('ties between pages are broken by UTF-8 bytes, as the database does, and only ten are kept', async () => {
    const pages = [
      '/\u{1F600}',
      '/\uFF21',
      '/z',
      '/\u00E9',
      '/Z',
      ...'abcdefgh'.split('').map((c) => `/${c}`),
    ]
    await write(pages.map((page, i) => session(`s${i}`, `v${i}`, BOUNDS[0]!, page)))
    const top = [
      '/Z',
      '/a',
      '/b',
      '/c',
      '/d',
      '/e',
      '/f',
      '/g',
      '/h',
      '/z',
      // cut: '/\u00E9' (C3 A9), '/\uFF21' (EF BC A1), '/\u{1F600}' (F0 9F 98 80)
    ].map((path) => ({ path, sessions: 1 }))
    expect((await sessionSpread(t.data, t.storeId, BOUNDS)).topLandingPages).toEqual(top)
    expect((await counted(BOUNDS[0]!, BOUNDS[8]!)).pages).toEqual(top)
    // One more session on each of the last three: they now tie at 2, in UTF-8 order (JS's `<`
    // would put the emoji, a surrogate pair from 0xD83D, before U+FF21).
    await write([
      session('e1', 'v', BOUNDS[1]!, '/\u{1F600}'),
      session('f1', 'v', BOUNDS[1]!, '/\uFF21'),
      session('g1', 'v', BOUNDS[1]!, '/\u00E9'),
    ])
    const after = [
      { path: '/\u00E9', sessions: 2 },
      { path: '/\uFF21', sessions: 2 },
      { path: '/\u{1F600}', sessions: 2 },
      ...top.slice(0, 7),
    ]
    expect((await sessionSpread(t.data, t.storeId, BOUNDS)).topLandingPages).toEqual(after)
    expect((await counted(BOUNDS[0]!, BOUNDS[8]!)).pages).toEqual(after)
  })
})
