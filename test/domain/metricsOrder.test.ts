import { afterEach, describe, expect, spyOn, test } from 'bun:test'
import { BulkLoad } from '../../src/db/sqlite/bulkLoad.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { prng } from '../../src/domain/demo.ts'
import { importNdjson } from '../../src/domain/ingest/ndjsonImport.ts'
import { computeMetrics, type Metrics } from '../../src/domain/metrics.ts'
import type { RecordKind } from '../../src/domain/ndjson.ts'
import { periodContaining } from '../../src/domain/periods.ts'
import { onPostgres, openTestStore, type TestStore } from '../utils.ts'

// Metrics read a period from the index on start time, however the rows lie in the table: the
// same sessions and orders give the same figures whether they arrived in time order or shuffled,
// through a first load or batch by batch, with re-sent lines applied in the order they came.

const NY = 'America/New_York'
const clock = new FixedClock('2026-12-01T12:00:00Z')
const ms = (iso: string) => Date.parse(iso)
const HOUR = 3_600_000

interface Line {
  id: string
  /** Which copy of the session this is: a later copy replaces an earlier one. */
  copy: number
  record: Record<string, unknown>
}

const pick = <T>(rand: () => number, items: readonly T[]) =>
  items[Math.floor(rand() * items.length)]!

/** A session line with random figures (landing pages as full URLs, as shops send them). */
function sessionLine(rand: () => number, id: string, copy: number, visitor: string, at: number) {
  return {
    id,
    copy,
    record: {
      id,
      visitor_id: visitor,
      started_at: at,
      ended_at: at + Math.floor(rand() * 40) * 60_000,
      pageviews: Math.floor(rand() * 7),
      device: pick(rand, ['desktop', 'mobile', 'tablet']),
      source: pick(rand, ['direct', 'organic', 'paid', 'referral']),
      landing_page: `https://shop.example${pick(rand, ['/', '/cart', '/products/a', '/products/b', '/collections/all', '/blog/x'])}?utm=${copy}`,
      viewed_product: rand() < 0.6,
      added_to_cart: rand() < 0.3,
      reached_checkout: rand() < 0.15,
    },
  } satisfies Line
}

/**
 * 900 sessions from 2026-11-12 to 2026-11-25 (the week of Monday 2026-11-16 in New York, some
 * days around it) among 250 visitors; 60 of them sent again with new figures, 10 of those a third
 * time; 'move' re-sent on another day (the 18th to the 20th) for another visitor ('gone', seen in
 * no other session, to 'came'); 'away' moved out of the week to the next one. Orders on the
 * sessions, some not successful.
 */
function generated() {
  const rand = prng(1616)
  const from = ms('2026-11-12T00:00:00Z')
  const span = ms('2026-11-26T00:00:00Z') - from
  const sessions: Line[] = []
  for (let i = 0; i < 900; i++) {
    const at = from + Math.floor(rand() * span)
    sessions.push(sessionLine(rand, `s${i}`, 0, `v${Math.floor(rand() * 250)}`, at))
  }
  for (let n = 0; n < 60; n++) {
    const first = sessions[Math.floor(rand() * 900)]!.record
    // Same visitor; the start moved by up to two hours either way, so sometimes to another day.
    const at = (first.started_at as number) + Math.floor((rand() - 0.5) * 4 * HOUR)
    const copies = sessions.filter((l) => l.id === first.id).length
    sessions.push(sessionLine(rand, first.id as string, copies, first.visitor_id as string, at))
    if (n < 10) {
      sessions.push(sessionLine(rand, first.id as string, copies + 1, 'v7', at + HOUR))
    }
  }
  sessions.push(sessionLine(rand, 'move', 0, 'gone', ms('2026-11-18T10:00:00-05:00')))
  sessions.push(sessionLine(rand, 'move', 1, 'came', ms('2026-11-20T15:00:00-05:00')))
  sessions.push(sessionLine(rand, 'away', 0, 'v1', ms('2026-11-17T09:00:00-05:00')))
  sessions.push(sessionLine(rand, 'away', 1, 'v2', ms('2026-11-24T09:00:00-05:00')))
  const statuses = ['paid', 'pending', 'partially_refunded', 'voided', 'expired', null]
  const orders: Line[] = Array.from({ length: 120 }, (_, i) => {
    const session = pick(rand, sessions).record
    const created = (session.started_at as number) + 10 * 60_000
    return {
      id: `o${i}`,
      copy: 0,
      record: {
        id: `o${i}`,
        created_at: created,
        total_price: `${Math.floor(rand() * 20000) / 100}`,
        financial_status: pick(rand, statuses),
        ...(rand() < 0.1 ? { cancelled_at: new Date(created + HOUR).toISOString() } : {}),
        ...(rand() < 0.05 ? { test: true } : {}),
        session_id: session.id,
      },
    }
  })
  orders.push({
    id: 'on-move',
    copy: 0,
    record: {
      id: 'on-move',
      created_at: ms('2026-11-20T15:10:00-05:00'),
      total_price: '42.00',
      session_id: 'move',
    },
  })
  return { sessions, orders }
}

/** `lines` permuted, then each session's copies put back in the order they were sent. */
function keepCopiesInOrder(lines: Line[]): Line[] {
  const slots = new Map<string, number[]>()
  lines.forEach((line, i) => {
    slots.set(line.id, [...(slots.get(line.id) ?? []), i])
  })
  const out = [...lines]
  for (const positions of slots.values()) {
    const copies = positions.map((i) => lines[i]!).sort((a, b) => a.copy - b.copy)
    positions.forEach((at, k) => {
      out[at] = copies[k]!
    })
  }
  return out
}

function timeOrder(lines: Line[]): Line[] {
  const at = (l: Line) => (l.record.started_at ?? l.record.created_at) as number
  return keepCopiesInOrder([...lines].sort((a, b) => at(a) - at(b)))
}

function shuffled(lines: Line[], seed: number): Line[] {
  const rand = prng(seed)
  const out = [...lines]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return keepCopiesInOrder(out)
}

/** The lines as a stream of several chunks, each parsed (and, in a first load, written) alone. */
async function* chunks(lines: Line[]) {
  const encoder = new TextEncoder()
  for (let i = 0; i < lines.length; i += 250) {
    const part = lines.slice(i, i + 250)
    yield encoder.encode(`${part.map((l) => JSON.stringify(l.record)).join('\n')}\n`)
  }
}

const stores: TestStore[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
})

const importLines = (t: TestStore, kind: RecordKind, lines: Line[]) =>
  importNdjson(t.data, t.store, kind, chunks(lines), clock, { exclusive: true })

const WEEK = periodContaining(Temporal.PlainDate.from('2026-11-18'), 'weekly', NY, 'monday')
const DAYS = ['2026-11-18', '2026-11-20'].map((d) =>
  periodContaining(Temporal.PlainDate.from(d), 'daily', NY, 'monday'),
)

/** Imports into a fresh store (holding one unrelated session when `batched`), then its metrics. */
async function importAndMeasure(arrange: (lines: Line[]) => Line[], batched: boolean) {
  const t = await openTestStore(clock.now().toString())
  stores.push(t)
  if (batched) {
    const unrelated = { id: 'unrelated', visitor_id: 'elsewhere', started_at: '2025-01-01T00:00Z' }
    await importNdjson(
      t.data,
      t.store,
      'sessions',
      chunks([{ id: '', copy: 0, record: unrelated }]),
      clock,
    )
  }
  const begin = spyOn(BulkLoad, 'begin')
  const { sessions, orders } = generated()
  let summary: Awaited<ReturnType<typeof importNdjson>>
  try {
    summary = await importLines(t, 'sessions', arrange(sessions))
    // The path taken on SQLite: a first load into the empty store, batches beside a stored
    // session. PostgreSQL has no bulk load (its ingest engine writes batch by batch).
    if (!onPostgres) {
      expect(begin).toHaveBeenCalledTimes(1)
      expect(begin.mock.results[0]!.value === null).toBe(batched)
    }
  } finally {
    begin.mockRestore()
  }
  expect(await importLines(t, 'orders', arrange(orders))).toMatchObject({ rejected: 0 })
  const metrics: Metrics[] = []
  for (const period of [WEEK, ...DAYS]) metrics.push(await computeMetrics(t.data, t.store, period))
  const visitor = (id: string) =>
    t.data.get('SELECT first_seen_at, last_seen_at FROM visitors WHERE id = ?', id)
  return { summary, metrics, gone: await visitor('gone'), came: await visitor('came') }
}

/** The sessions as stored after every line: the last copy of each. */
function finalSessions() {
  const last = new Map<string, Record<string, unknown>>()
  for (const line of generated().sessions) last.set(line.id, line.record)
  return [...last.values()] as {
    id: string
    visitor_id: string
    started_at: number
    pageviews: number
  }[]
}

describe('the same sessions and orders give the same metrics in any arrival order', () => {
  test('time order or shuffled, first load or batched: deep-equal metrics, re-sent lines applied in order', async () => {
    const results = [
      await importAndMeasure(timeOrder, false),
      await importAndMeasure((lines) => shuffled(lines, 1), false),
      await importAndMeasure(timeOrder, true),
      await importAndMeasure((lines) => shuffled(lines, 2), true),
    ]
    const [first, ...others] = results
    for (const other of others) expect(other).toEqual(first!)

    // 974 lines of 902 sessions: 60 sent twice, 10 of them a third time, 'move' and 'away'.
    const final = finalSessions()
    expect(final).toHaveLength(902)
    expect(first!.summary).toEqual({
      inserted: 902,
      updated: 72,
      rejected: 0,
      errors: [],
    })
    // The moved session's first visitor has no session left; its new one came on the 20th.
    expect(first!.gone).toBeNull()
    expect(first!.came).toEqual({
      first_seen_at: ms('2026-11-20T15:00:00-05:00'),
      last_seen_at: expect.any(Number),
    })

    // The figures are those of the last copies, counted here from the lines themselves.
    const firstSeen = new Map<string, number>()
    for (const s of final) {
      firstSeen.set(
        s.visitor_id,
        Math.min(firstSeen.get(s.visitor_id) ?? s.started_at, s.started_at),
      )
    }
    for (const [i, period] of [WEEK, ...DAYS].entries()) {
      const m = first!.metrics[i]!
      const from = period.start.epochMilliseconds
      const to = period.end.epochMilliseconds
      const inPeriod = final.filter((s) => s.started_at >= from && s.started_at < to)
      const visitors = new Set(inPeriod.map((s) => s.visitor_id))
      expect({
        sessions: m.total_sessions,
        pageviews: m.total_pageviews,
        visitors: m.total_visitors,
        new_visitors: m.new_visitors,
      }).toEqual({
        sessions: inPeriod.length,
        pageviews: inPeriod.reduce((sum, s) => sum + s.pageviews, 0),
        visitors: visitors.size,
        new_visitors: [...visitors].filter((v) => firstSeen.get(v)! >= from).length,
      })
      expect(m.daily.map(({ date, sessions, visitors }) => ({ date, sessions, visitors }))).toEqual(
        period.days.map((day) => {
          const start = day.toZonedDateTime(NY).epochMilliseconds
          const end = day.add({ days: 1 }).toZonedDateTime(NY).epochMilliseconds
          const ofDay = inPeriod.filter((s) => s.started_at >= start && s.started_at < end)
          const sessions = ofDay.length
          return {
            date: day.toString(),
            sessions,
            visitors: new Set(ofDay.map((s) => s.visitor_id)).size,
          }
        }),
      )
    }
  })
})
