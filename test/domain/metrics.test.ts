import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { Data } from '../../src/db/data.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { computeMetrics, type Metrics, round } from '../../src/domain/metrics.ts'
import { dayRange, periodContaining } from '../../src/domain/periods.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import type { Store } from '../../src/domain/stores.ts'
import { openTestStore } from '../utils.ts'

const NY = 'America/New_York'
const clock = new FixedClock('2026-12-01T12:00:00Z')
let data: Data
let store: Store
let close: () => void

beforeEach(async () => {
  ;({ data, store, close } = await openTestStore(clock.now().toString()))
})

afterEach(() => close())

/** Sessions as an import would give them (defaults applied); `seconds` is the duration. */
async function sessions(
  ...rows: (Record<string, unknown> & { seconds?: number })[]
): Promise<void> {
  const records = rows.map(({ seconds, ...r }) => {
    const s = sessionInput.parse(r)
    return seconds === undefined ? s : { ...s, ended_at: s.started_at + seconds * 1000 }
  })
  await writeSessions(data, store, records, clock)
}

async function orders(...rows: Record<string, unknown>[]): Promise<void> {
  await writeOrders(
    data,
    store,
    rows.map((r) => orderInput.parse(r)),
    clock,
  )
}

const day = (d: string) => periodContaining(Temporal.PlainDate.from(d), 'daily', NY, 'monday')
const metricsOf = (d: string) => computeMetrics(data, store, day(d))

describe('computeMetrics on a hand-built day (2026-11-25, New York, UTC-5)', () => {
  beforeEach(async () => {
    await sessions(
      // v1 visited before the period: a returning visitor
      { id: 'prev', visitor_id: 'v1', started_at: '2026-11-20T12:00:00-05:00', seconds: 10 },
      // at 00:00:00 store time exactly: belongs to the 25th
      {
        id: 's1',
        visitor_id: 'v1',
        started_at: '2026-11-25T00:00:00-05:00',
        seconds: 60,
        pageviews: 3,
        device: 'desktop',
        source: 'organic',
        landing_page: '/',
        viewed_product: true,
        added_to_cart: true,
        reached_checkout: true,
      },
      {
        id: 's2',
        visitor_id: 'v2',
        started_at: '2026-11-25T09:00:00-05:00',
        seconds: 30,
        pageviews: 1,
        device: 'mobile',
        source: 'direct',
        landing_page: '/products/a',
        viewed_product: true,
      },
      {
        id: 's3',
        visitor_id: 'v2',
        started_at: '2026-11-25T10:00:00-05:00',
        seconds: 90,
        pageviews: 2,
        device: 'mobile',
        source: 'paid',
        landing_page: '/products/a',
        viewed_product: true,
        added_to_cart: true,
      },
      {
        id: 's4',
        visitor_id: 'v3',
        started_at: '2026-11-25T12:00:00-05:00',
        // no ended_at: duration 0
        pageviews: 0,
        device: 'tablet',
        source: 'referral',
        landing_page: 'https://shop.example/collections/all?utm=x',
        added_to_cart: true,
        reached_checkout: true,
      },
      {
        id: 's8',
        visitor_id: 'v3',
        started_at: '2026-11-25T13:00:00-05:00',
        seconds: 16,
        // pageviews default 1, device desktop, source direct, landing /
        reached_checkout: true,
      },
      {
        id: 's10',
        visitor_id: 'v5',
        started_at: '2026-11-25T15:00:00-05:00',
        seconds: 40.25,
        pageviews: 2,
        device: 'mobile',
        source: 'organic',
        landing_page: '/collections/all',
      },
      // at 23:59:59 store time (04:59:59Z on the 26th): still the 25th
      {
        id: 's5',
        visitor_id: 'v4',
        started_at: '2026-11-26T04:59:59Z',
        seconds: 45.5,
        pageviews: 4,
        device: 'desktop',
        source: 'organic',
        landing_page: '/',
        viewed_product: true,
        added_to_cart: true,
      },
      // outside the day: 00:00:00 on the 26th and 23:59:59 on the 24th
      { id: 's6', visitor_id: 'v4', started_at: '2026-11-26T00:00:00-05:00', pageviews: 9 },
      { id: 's7', visitor_id: 'v6', started_at: '2026-11-24T23:59:59-05:00', pageviews: 9 },
    )
    await orders(
      // successful
      {
        id: 'o1',
        created_at: '2026-11-25T00:01:00-05:00',
        total_price: '100.10',
        financial_status: 'paid',
        session_id: 's1',
      },
      {
        id: 'o4',
        created_at: '2026-11-25T23:59:59-05:00',
        total_price: 19.99,
        financial_status: 'pending',
        session_id: 's5',
      },
      {
        id: 'o8',
        created_at: '2026-11-25T08:00:00-05:00',
        total_price: '30.005', // rounded half-up to 30.01
        financial_status: 'partially_refunded',
      },
      { id: 'o12', created_at: '2026-11-25T05:00:00Z', total_price: 0.5 }, // 00:00:00 store time
      // not successful
      {
        id: 'o3',
        created_at: '2026-11-25T12:05:00-05:00',
        total_price: '50.00',
        cancelled_at: '2026-11-25T13:00:00-05:00',
        session_id: 's4',
      },
      {
        id: 'o5',
        created_at: '2026-11-25T14:00:00-05:00',
        total_price: '999.00',
        test: true,
      },
      {
        id: 'o6',
        created_at: '2026-11-25T10:10:00-05:00',
        total_price: '20.00',
        financial_status: 'voided',
        session_id: 's3',
      },
      {
        id: 'o7',
        created_at: '2026-11-25T16:00:00-05:00',
        total_price: '20.00',
        financial_status: 'expired',
      },
      {
        id: 'o11',
        created_at: '2026-11-25T17:00:00-05:00',
        total_price: '20.00',
        financial_status: 'VOIDED',
      },
      // successful but outside the day
      { id: 'o9', created_at: '2026-11-26T00:00:00-05:00', total_price: '500' },
      { id: 'o10', created_at: '2026-11-24T23:59:59-05:00', total_price: '500' },
    )
  })

  test('every field of the data object', async () => {
    // Sessions in the day: s1 s2 s3 s4 s8 s10 s5 (7).
    // Visitors v1 v2 v3 v4 v5 (5); v1 had a session on the 20th, so 4 new and 1 returning.
    // Pageviews 3+1+2+0+1+2+4 = 13. Bounces (≤ 1 pageview): s2 s4 s8 → 3/7 = 0.428571…
    // Durations 60+30+90+0+16+40.25+45.5 = 281.75 s → 40.25 s → 40.3 (half up).
    // Successful orders o1 o4 o8 o12: 100.10+19.99+30.01+0.50 = 150.60; AOV 37.65; 4/7 = 0.571428…
    // Abandoned carts: s3 (its only order is voided); s5 has o4, s1 and s4 reached checkout.
    // Abandoned checkouts: s4 (its order is cancelled), s8 (no order); s1 has o1.
    const expected: Metrics = {
      total_visitors: 5,
      new_visitors: 4,
      returning_visitors: 1,
      total_sessions: 7,
      total_pageviews: 13,
      bounce_rate: 0.4286,
      avg_session_duration_seconds: 40.3,
      successful_orders: 4,
      total_revenue: 150.6,
      average_order_value: 37.65,
      conversion_rate: 0.5714,
      abandoned_carts: 1,
      abandoned_checkouts: 2,
      funnel: {
        sessions: 7,
        viewed_product: 4, // s1 s2 s3 s5
        added_to_cart: 4, // s1 s3 s4 s5
        reached_checkout: 3, // s1 s4 s8
        ordered: 4,
      },
      devices: { desktop: 3, mobile: 3, tablet: 1 },
      sources: { direct: 2, organic: 3, paid: 1, referral: 1 },
      // /collections/all and /products/a tie at 2: ordered by path
      top_landing_pages: [
        { path: '/', sessions: 3 },
        { path: '/collections/all', sessions: 2 },
        { path: '/products/a', sessions: 2 },
      ],
      daily: [
        { date: '2026-11-25', visitors: 5, sessions: 7, successful_orders: 4, revenue: 150.6 },
      ],
    }
    expect(await metricsOf('2026-11-25')).toEqual(expected)
  })

  test('the neighbouring days get the sessions and orders at their midnight edges', async () => {
    const next = await metricsOf('2026-11-26')
    expect(next.total_sessions).toBe(1) // s6
    expect(next.total_pageviews).toBe(9)
    expect(next.new_visitors).toBe(0) // v4 came on the 25th
    expect(next.returning_visitors).toBe(1)
    expect(next.successful_orders).toBe(1) // o9
    expect(next.total_revenue).toBe(500)
    const before = await metricsOf('2026-11-24')
    expect(before.total_sessions).toBe(1) // s7
    expect(before.new_visitors).toBe(1)
    expect(before.successful_orders).toBe(1) // o10
  })

  test('an order linked to a session makes it no longer abandoned', async () => {
    await orders({
      id: 'late',
      created_at: '2026-11-25T18:00:00-05:00',
      total_price: 1,
      session_id: 's8',
    })
    const m = await metricsOf('2026-11-25')
    expect(m.abandoned_checkouts).toBe(1) // only s4 left
    expect(m.abandoned_carts).toBe(1)
    expect(m.successful_orders).toBe(5)
    expect(m.total_revenue).toBe(151.6)
  })

  test('an order re-sent as cancelled stops counting', async () => {
    await orders({
      id: 'o1',
      created_at: '2026-11-25T00:01:00-05:00',
      total_price: '100.10',
      cancelled_at: '2026-11-26T10:00:00-05:00',
      session_id: 's1',
    })
    const m = await metricsOf('2026-11-25')
    expect(m.successful_orders).toBe(3)
    expect(m.total_revenue).toBe(50.5)
    expect(m.average_order_value).toBe(16.83) // 50.50 / 3 = 16.8333…
    expect(m.abandoned_checkouts).toBe(3) // s1 lost its order
  })
})

describe('computeMetrics over a week', () => {
  test('one daily row per day, every day present, across the 25-hour day', async () => {
    // The Monday week 2026-10-26 … 2026-11-01 in New York; DST ends on Sunday 2026-11-01.
    await sessions(
      { id: 'w1', visitor_id: 'v10', started_at: '2026-10-26T00:00:00-04:00' },
      { id: 'w2', visitor_id: 'v11', started_at: '2026-10-28T12:00:00-04:00', pageviews: 3 },
      { id: 'w3', visitor_id: 'v10', started_at: '2026-10-28T23:59:59-04:00', pageviews: 2 },
      // after the clocks went back: 23:30 EST is 04:30Z on the 2nd
      { id: 'w4', visitor_id: 'v12', started_at: '2026-11-01T23:30:00-05:00', pageviews: 2 },
      { id: 'w5', visitor_id: 'v13', started_at: '2026-11-02T00:00:00-05:00' },
      { id: 'w6', visitor_id: 'v14', started_at: '2026-10-25T23:59:59-04:00' },
    )
    await orders(
      { id: 'wo1', created_at: '2026-10-28T12:10:00-04:00', total_price: '10', session_id: 'w2' },
      { id: 'wo2', created_at: '2026-11-01T01:30:00-05:00', total_price: '5.25' },
      { id: 'wo3', created_at: '2026-11-02T00:00:00-05:00', total_price: '7' },
    )
    const week = periodContaining(Temporal.PlainDate.from('2026-10-29'), 'weekly', NY, 'monday')
    const m = await computeMetrics(data, store, week)
    const zero = { visitors: 0, sessions: 0, successful_orders: 0, revenue: 0 }
    expect(m.daily).toEqual([
      { date: '2026-10-26', visitors: 1, sessions: 1, successful_orders: 0, revenue: 0 },
      { date: '2026-10-27', ...zero },
      { date: '2026-10-28', visitors: 2, sessions: 2, successful_orders: 1, revenue: 10 },
      { date: '2026-10-29', ...zero },
      { date: '2026-10-30', ...zero },
      { date: '2026-10-31', ...zero },
      { date: '2026-11-01', visitors: 1, sessions: 1, successful_orders: 1, revenue: 5.25 },
    ])
    expect(m.total_visitors).toBe(3) // v10 v11 v12
    expect(m.new_visitors).toBe(3)
    expect(m.returning_visitors).toBe(0)
    expect(m.total_sessions).toBe(4)
    expect(m.total_pageviews).toBe(8)
    expect(m.bounce_rate).toBe(0.25)
    expect(m.successful_orders).toBe(2)
    expect(m.total_revenue).toBe(15.25)
    expect(m.average_order_value).toBe(7.63) // 7.625 rounded half up
    expect(m.conversion_rate).toBe(0.5)
  })

  test('a visitor seen on several days counts once for the week but once per day', async () => {
    await sessions(
      { id: 'a', visitor_id: 'v', started_at: '2026-11-16T10:00:00-05:00' },
      { id: 'b', visitor_id: 'v', started_at: '2026-11-18T10:00:00-05:00' },
    )
    const week = periodContaining(Temporal.PlainDate.from('2026-11-16'), 'weekly', NY, 'monday')
    const m = await computeMetrics(data, store, week)
    expect(m.total_visitors).toBe(1)
    expect(m.new_visitors).toBe(1)
    expect(m.daily.map((d) => d.visitors)).toEqual([1, 0, 1, 0, 0, 0, 0])
    // On the 18th alone, v is returning: their first session was on the 16th.
    expect((await metricsOf('2026-11-18')).returning_visitors).toBe(1)
  })
})

describe('edge cases', () => {
  test('an empty period: zero everywhere, no division by zero', async () => {
    expect(await metricsOf('2026-11-25')).toEqual({
      total_visitors: 0,
      new_visitors: 0,
      returning_visitors: 0,
      total_sessions: 0,
      total_pageviews: 0,
      bounce_rate: 0,
      avg_session_duration_seconds: 0,
      successful_orders: 0,
      total_revenue: 0,
      average_order_value: 0,
      conversion_rate: 0,
      abandoned_carts: 0,
      abandoned_checkouts: 0,
      funnel: { sessions: 0, viewed_product: 0, added_to_cart: 0, reached_checkout: 0, ordered: 0 },
      devices: { desktop: 0, mobile: 0, tablet: 0 },
      sources: { direct: 0, organic: 0, paid: 0, referral: 0 },
      top_landing_pages: [],
      daily: [{ date: '2026-11-25', visitors: 0, sessions: 0, successful_orders: 0, revenue: 0 }],
    })
  })

  test('orders without sessions: conversion 0, AOV still computed', async () => {
    await orders({ id: 'x', created_at: '2026-11-25T10:00:00-05:00', total_price: '12.34' })
    const m = await metricsOf('2026-11-25')
    expect(m.conversion_rate).toBe(0)
    expect(m.average_order_value).toBe(12.34)
    expect(m.total_revenue).toBe(12.34)
  })

  test('conversion is capped at 1 when there are more orders than sessions', async () => {
    await sessions({ id: 's', visitor_id: 'v', started_at: '2026-11-25T10:00:00-05:00' })
    await orders(
      { id: 'a', created_at: '2026-11-25T10:00:00-05:00', total_price: '1' },
      { id: 'b', created_at: '2026-11-25T11:00:00-05:00', total_price: '2' },
    )
    const m = await metricsOf('2026-11-25')
    expect(m.successful_orders).toBe(2)
    expect(m.conversion_rate).toBe(1)
    expect(m.average_order_value).toBe(1.5)
  })

  test('top_landing_pages: at most 10, most sessions first, ties by path', async () => {
    const counts: Record<string, number> = { '/p12': 3, '/p05': 2, '/p03': 2 }
    const rows: Record<string, unknown>[] = []
    for (let i = 1; i <= 12; i++) {
      const path = `/p${String(i).padStart(2, '0')}`
      for (let n = 0; n < (counts[path] ?? 1); n++) {
        rows.push({
          id: `${path}-${n}`,
          visitor_id: `v${i}`,
          started_at: '2026-11-25T12:00:00-05:00',
          landing_page: path,
        })
      }
    }
    await sessions(...rows)
    expect((await metricsOf('2026-11-25')).top_landing_pages).toEqual([
      { path: '/p12', sessions: 3 },
      { path: '/p03', sessions: 2 },
      { path: '/p05', sessions: 2 },
      { path: '/p01', sessions: 1 },
      { path: '/p02', sessions: 1 },
      { path: '/p04', sessions: 1 },
      { path: '/p06', sessions: 1 },
      { path: '/p07', sessions: 1 },
      { path: '/p08', sessions: 1 },
      { path: '/p09', sessions: 1 },
    ])
  })

  test('a range of days (stats) counts every day in it', async () => {
    await sessions(
      { id: 'a', visitor_id: 'v1', started_at: '2026-11-24T10:00:00-05:00' },
      { id: 'b', visitor_id: 'v2', started_at: '2026-11-25T10:00:00-05:00' },
    )
    const range = dayRange(
      Temporal.PlainDate.from('2026-11-24'),
      Temporal.PlainDate.from('2026-11-25'),
      NY,
    )
    const m = await computeMetrics(data, store, range)
    expect(m.total_sessions).toBe(2)
    expect(m.daily.map((d) => [d.date, d.sessions])).toEqual([
      ['2026-11-24', 1],
      ['2026-11-25', 1],
    ])
  })

  test('average_order_value rounds a half cent up (0.29 / 2 = 0.145 → 0.15)', async () => {
    await orders(
      { id: 'a', created_at: '2026-11-25T10:00:00-05:00', total_price: '0.14' },
      { id: 'b', created_at: '2026-11-25T11:00:00-05:00', total_price: '0.15' },
    )
    expect((await metricsOf('2026-11-25')).average_order_value).toBe(0.15)
  })

  test('round: half away from zero at the printed precision', () => {
    expect(round(0.12345, 4)).toBe(0.1235)
    expect(round(40.25, 1)).toBe(40.3)
    expect(round(1.005, 2)).toBe(1.01)
    expect(round(2 / 3, 4)).toBe(0.6667)
    expect(round(0, 2)).toBe(0)
    expect(round(57 / 800, 4)).toBe(0.0713) // 0.07125, whose product by 10⁴ is 712.4999…
    expect(round(14.5 / 100, 2)).toBe(0.15)
  })
})
