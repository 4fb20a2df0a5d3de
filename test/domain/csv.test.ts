import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { Data } from '../../src/db/data.ts'
import type { FixedClock } from '../../src/domain/clock.ts'
import { importOrders, parseNoteAttributes } from '../../src/domain/csv.ts'
import { writeSessions } from '../../src/domain/ingest/writers.ts'
import { ensureDefaultStore, type Store } from '../../src/domain/stores.ts'
import { type CsvRow, parseCsv } from '../../src/lib/csv.ts'
import { openTestStore, type TestStore } from '../utils.ts'

/** A stream that delivers the text `size` bytes at a time, to cross every chunk boundary. */
function chunked(text: string, size = 7): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(at, at + size))
      at += size
    },
  })
}

async function rows(text: string, size = 7): Promise<CsvRow[]> {
  const out: CsvRow[] = []
  for await (const row of parseCsv(chunked(text, size))) out.push(row)
  return out
}

describe('parseCsv', () => {
  test('quoted fields hold commas, doubled quotes and line breaks; lines are counted', async () => {
    const text =
      '\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\nlines",\r\n\r\n3,plain"quote,""""\n'
    for (const size of [1, 3, 7, 1000]) {
      expect(await rows(text, size)).toEqual([
        { line: 1, fields: ['a', 'b', 'c'] },
        { line: 2, fields: ['1', 'x, y', 'say "hi"'] },
        { line: 3, fields: ['2', 'two\nlines', ''] },
        { line: 6, fields: ['3', 'plain"quote', '"'] },
      ])
    }
  })

  test('a last record without a line end, multi-byte text split across chunks', async () => {
    expect(await rows('name,city\nZoë,"Zürich, CH"', 1)).toEqual([
      { line: 1, fields: ['name', 'city'] },
      { line: 2, fields: ['Zoë', 'Zürich, CH'] },
    ])
  })

  test('a quote never closed is reported at the line where its record starts', async () => {
    expect(await rows('a,b\n1,"open\n2,3\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: 'a quoted field is never closed' },
    ])
  })
})

test('parseNoteAttributes reads Shopify\'s "name: value" lines', () => {
  expect(parseNoteAttributes('_mida_visitor: v-123\ngift: yes: really\n\nnonsense')).toEqual([
    { name: '_mida_visitor', value: 'v-123' },
    { name: 'gift', value: 'yes: really' },
  ])
})

/** A Shopify orders export (a subset of its 70-odd columns, in its order). */
export const SHOPIFY_CSV = [
  'Name,Email,Financial Status,Paid at,Currency,Subtotal,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Notes,Note Attributes,Cancelled at,Id',
  // two line items; a product name with a comma and quotes; a note over two lines
  '#1001,ann@example.com,paid,2026-11-20 10:05:00 -0500,USD,100.00,107.00,2026-11-20 10:00:00 -0500,1,"Tee, ""Classic"" fit",50.00,"Gift wrap, please',
  'and a card","_mida_visitor: visitor-ann",,5001',
  '#1001,ann@example.com,,,,,,,1,Mug,50.00,,,,5001',
  // voided: kept, but never a successful order
  '#1002,bob@example.com,voided,,USD,20.00,20.00,2026-11-20 11:00:00 -0500,2,Sticker,10.00,,,,5002',
  // three line items, paid
  '#1003,cy@example.com,paid,2026-11-21 09:00:00 -0500,USD,60.00,65.50,2026-11-21 08:59:00 -0500,1,Cap,20.00,,,,5003',
  '#1003,cy@example.com,,,,,,,1,Socks,20.00,,,,5003',
  '#1003,cy@example.com,,,,,,,1,"Scarf ""wool""",20.00,,,,5003',
  // cancelled
  '#1004,di@example.com,refunded,2026-11-21 12:00:00 -0500,USD,30.00,30.00,2026-11-21 11:30:00 -0500,1,Tee,30.00,,,2026-11-21 13:00:00 -0500,5004',
  // bad: no total
  '#1005,ed@example.com,paid,,USD,,,2026-11-21 14:00:00 -0500,1,Tee,30.00,,,,5005',
  // bad: a date without an offset
  '#1006,fay@example.com,paid,,USD,12.00,12.00,21/11/2026 14:00,1,Tee,12.00,,,,5006',
  '',
].join('\r\n')

describe('importOrders from a Shopify CSV export', () => {
  let s: TestStore
  let data: Data
  let clock: FixedClock
  let store: Store
  beforeEach(async () => {
    s = await openTestStore('2026-11-26T06:00:00Z')
    ;({ data, clock } = s)
    store = await ensureDefaultStore(data, clock)
  })
  afterEach(() => s.close())

  const orders = () =>
    data.all(
      `SELECT id, name, created_at, total_price_cents, currency, financial_status, cancelled_at,
         test, session_id FROM orders ORDER BY id`,
    )
  const ms = (at: string) => Temporal.Instant.from(at).epochMilliseconds

  test('one order per Name, its fields from its first row, bad orders reported by line', async () => {
    await writeSessions(
      data,
      store,
      [
        {
          id: 'sess-ann',
          visitor_id: 'visitor-ann',
          started_at: ms('2026-11-20T14:50:00Z'),
          ended_at: ms('2026-11-20T15:00:00Z'),
          pageviews: 3,
          device: 'desktop',
          source: 'direct',
          landing_page: '/',
          viewed_product: true,
          added_to_cart: true,
          reached_checkout: true,
        },
      ],
      clock,
    )
    const { format, summary } = await importOrders(data, store, chunked(SHOPIFY_CSV, 64), clock)
    expect(format).toBe('csv')
    expect(summary).toEqual({
      inserted: 4,
      updated: 0,
      rejected: 2,
      errors: [
        { line: 10, error: 'Total: is required' },
        {
          line: 11,
          error:
            'Created at: must be a time with an offset, like 2026-11-25T14:03:00Z (got "21/11/2026 14:00")',
        },
      ],
    })
    expect(await orders()).toEqual([
      {
        id: '5001',
        name: '#1001',
        created_at: ms('2026-11-20T15:00:00Z'),
        total_price_cents: 10700,
        currency: 'USD',
        financial_status: 'paid',
        cancelled_at: null,
        test: 0,
        session_id: 'sess-ann',
      },
      {
        id: '5002',
        name: '#1002',
        created_at: ms('2026-11-20T16:00:00Z'),
        total_price_cents: 2000,
        currency: 'USD',
        financial_status: 'voided',
        cancelled_at: null,
        test: 0,
        session_id: null,
      },
      {
        id: '5003',
        name: '#1003',
        created_at: ms('2026-11-21T13:59:00Z'),
        total_price_cents: 6550,
        currency: 'USD',
        financial_status: 'paid',
        cancelled_at: null,
        test: 0,
        session_id: null,
      },
      {
        id: '5004',
        name: '#1004',
        created_at: ms('2026-11-21T16:30:00Z'),
        total_price_cents: 3000,
        currency: 'USD',
        financial_status: 'refunded',
        cancelled_at: ms('2026-11-21T18:00:00Z'),
        test: 0,
        session_id: null,
      },
    ])
  })

  test('importing the same export again changes nothing; a known test order stays one', async () => {
    await importOrders(data, store, chunked(SHOPIFY_CSV, 4096), clock)
    await data.run("UPDATE orders SET test = 1 WHERE id = '5003'")
    const before = await orders()
    const { summary } = await importOrders(data, store, chunked(SHOPIFY_CSV, 4096), clock)
    expect(summary).toMatchObject({ inserted: 0, updated: 4, rejected: 2 })
    expect(await orders()).toEqual(before)
  })

  test('NDJSON is still NDJSON', async () => {
    const ndjson = '{"id":1,"created_at":"2026-11-20T10:00:00Z","total_price":"5.00"}\n{"id":2}\n'
    const { format, summary } = await importOrders(data, store, chunked(ndjson), clock)
    expect(format).toBe('ndjson')
    expect(summary).toMatchObject({ inserted: 1, rejected: 1 })
  })

  test('a CSV that is not an orders export is refused as a whole', async () => {
    await expect(
      importOrders(data, store, chunked('Handle,Title,Total\nx,y,1\n'), clock),
    ).rejects.toThrow(
      'This looks like a CSV file but not a Shopify orders export: it needs the columns Name, Created at and Total',
    )
  })
})
