// Records and helpers shared by the import tests (ndjsonImport, firstLoad).

export const ms = (iso: string) => Date.parse(iso)

export const SESSIONS = [
  {
    id: 's1',
    visitor_id: 'v1',
    started_at: '2026-11-25T10:00:00-05:00',
    ended_at: '2026-11-25T10:05:00-05:00',
    pageviews: 4,
    device: 'mobile',
    source: 'paid',
    landing_page: '/products/shirt',
    viewed_product: true,
    added_to_cart: true,
    reached_checkout: false,
  },
  { id: 's2', visitor_id: 'v2', started_at: '2026-11-25T11:00:00Z' },
  { id: 3, visitor_id: 42, started_at: 1764068400000, pageviews: 0 },
]
export const ORDERS = [
  {
    id: 1001,
    name: '#1001',
    created_at: '2026-11-25T10:04:00-05:00',
    total_price: '59.90',
    currency: 'usd',
    financial_status: 'PAID',
    session_id: 's1',
  },
  { id: '1002', created_at: '2026-11-25 12:00:00 -0500', total_price: 12 },
]
export const ndjson = (records: unknown[]) =>
  `${records.map((r) => JSON.stringify(r)).join('\n')}\n`
