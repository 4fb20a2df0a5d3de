// The sessions and orders the report tests share: a week of a New York store that holds the end
// of daylight saving time (2026-11-01 has 25 hours, 01:30 happens twice), with orders of known,
// earlier, unknown and no sessions, and a landing page that CSV must quote.
import type { Data } from '../src/db/data.ts'
import type { Clock } from '../src/domain/clock.ts'
import { writeOrders, writeSessions } from '../src/domain/ingest/writers.ts'
import { orderInput, sessionInput } from '../src/domain/records.ts'
import type { Store } from '../src/domain/stores.ts'

/** The DST week, Monday to Sunday. */
export const DST_WEEK = { from: '2026-10-26', to: '2026-11-01' } as const

/** A landing page that needs RFC 4180 quoting (imports keep paths only: no quote, no break). */
export const QUOTED_PAGE = '/sale,shoes'

export async function seedDstWeek(data: Data, store: Store, clock: Clock): Promise<void> {
  await writeSessions(
    data,
    store,
    [
      // The week before (previous_period) and 52 weeks before (previous_year).
      { id: 'w0', visitor_id: 'v9', started_at: '2026-10-20T10:00:00-04:00', pageviews: 2 },
      {
        id: 'y0',
        visitor_id: 'v8',
        started_at: '2025-10-28T10:00:00-04:00',
        device: 'tablet',
        source: 'paid',
        landing_page: '/last-year',
      },
      // The Sunday before the week, its session named by an order in the week.
      {
        id: 's0',
        visitor_id: 'v5',
        started_at: '2026-10-25T22:00:00-04:00',
        device: 'desktop',
        source: 'paid',
        landing_page: '/old',
      },
      { id: 's1', visitor_id: 'v1', started_at: '2026-10-26T10:00:00-04:00' },
      {
        id: 's2',
        visitor_id: 'v2',
        started_at: '2026-10-27T12:00:00-04:00',
        ended_at: '2026-10-27T12:05:00-04:00',
        pageviews: 4,
        device: 'mobile',
        source: 'organic',
        landing_page: '/products/a',
        viewed_product: true,
        added_to_cart: true,
      },
      {
        id: 's3',
        visitor_id: 'v1',
        started_at: '2026-10-30T23:30:00-04:00',
        ended_at: '2026-10-30T23:32:00-04:00',
        pageviews: 2,
        device: 'tablet',
        source: 'paid',
        landing_page: '/products/a',
      },
      // 01:30 twice on 2026-11-01: daylight time, then standard time.
      {
        id: 's4',
        visitor_id: 'v3',
        started_at: '2026-11-01T01:30:00-04:00',
        ended_at: '2026-11-01T01:31:30-04:00',
        pageviews: 3,
        device: 'mobile',
        source: 'referral',
        landing_page: '/x',
      },
      {
        id: 's5',
        visitor_id: 'v3',
        started_at: '2026-11-01T01:30:00-05:00',
        device: 'mobile',
        source: 'referral',
        landing_page: QUOTED_PAGE,
      },
      {
        id: 's6',
        visitor_id: 'v4',
        started_at: '2026-11-01T23:59:00-05:00',
        ended_at: '2026-11-02T00:00:00-05:00',
        pageviews: 2,
        source: 'organic',
        landing_page: '/y',
      },
    ].map((s) => sessionInput.parse(s)),
    clock,
  )
  await writeOrders(
    data,
    store,
    [
      { id: 'o1', created_at: '2026-10-27T12:10:00-04:00', total_price: '50.00', session_id: 's2' },
      { id: 'o2', created_at: '2026-11-01T01:45:00-05:00', total_price: '19.99', session_id: 's4' },
      { id: 'o3', created_at: '2026-10-26T09:00:00-04:00', total_price: '10.01' },
      { id: 'o4', created_at: '2026-10-28T10:00:00-04:00', total_price: '7.50', session_id: 's0' },
      { id: 'o5', created_at: '2026-10-29T10:00:00-04:00', total_price: '5', test: true },
      {
        id: 'o6',
        created_at: '2026-10-29T11:00:00-04:00',
        total_price: '3',
        cancelled_at: '2026-10-29T12:00:00-04:00',
      },
      {
        id: 'o7',
        created_at: '2026-11-01T10:00:00-05:00',
        total_price: '0.10',
        session_id: 'gone',
      },
      { id: 'o8', created_at: '2026-10-20T10:30:00-04:00', total_price: '12.00', session_id: 'w0' },
    ].map((o) => orderInput.parse(o)),
    clock,
  )
}
