import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { Data } from '../../../src/db/data.ts'
import type { FixedClock } from '../../../src/domain/clock.ts'
import { importNdjson } from '../../../src/domain/ingest/ndjsonImport.ts'
import { BATCH_SIZE } from '../../../src/domain/ingest/writers.ts'
import type { RecordKind } from '../../../src/domain/ndjson.ts'
import {
  describeIssues,
  landingPath,
  orderInput,
  parseInstant,
  parseMoneyCents,
  sessionInput,
} from '../../../src/domain/records.ts'
import type { Store } from '../../../src/domain/stores.ts'
import { LineSplitter } from '../../../src/lib/lines.ts'
import { openTestStore } from '../../utils.ts'
import { ms, ndjson, ORDERS, SESSIONS } from './fixtures.ts'

let data: Data
let store: Store
let clock: FixedClock
let close: () => void

beforeEach(async () => {
  ;({ data, store, clock, close } = await openTestStore())
})

afterEach(() => close())

const importText = (kind: RecordKind, text: string) =>
  importNdjson(data, store, kind, new Blob([text]).stream(), clock)
/** The bytes as an input cut every `size` bytes. */
async function* inChunks(bytes: Uint8Array, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size)
}
const rows = (table: 'sessions' | 'orders') =>
  data.all<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY id`)

describe('idempotent import', () => {
  test('the same sessions twice: inserted, then all updated, same table contents', async () => {
    const text = ndjson(SESSIONS)
    expect(await importText('sessions', text)).toEqual({
      inserted: 3,
      updated: 0,
      rejected: 0,
      errors: [],
    })
    const first = await rows('sessions')
    expect(await importText('sessions', text)).toEqual({
      inserted: 0,
      updated: 3,
      rejected: 0,
      errors: [],
    })
    expect(await rows('sessions')).toEqual(first)
    expect(first.length).toBe(3)
  })

  test('the same orders twice: inserted, then all updated, same table contents', async () => {
    const text = ndjson(ORDERS)
    expect(await importText('orders', text)).toMatchObject({ inserted: 2, updated: 0 })
    const first = await rows('orders')
    clock.advance({ hours: 1 })
    expect(await importText('orders', text)).toMatchObject({ inserted: 0, updated: 2 })
    const second = await rows('orders')
    // only the bookkeeping time moved
    expect(second.map(({ updated_at, ...r }) => r)).toEqual(first.map(({ updated_at, ...r }) => r))
    expect(second.map((r) => r.updated_at)).toEqual([
      ms('2026-11-26T07:00:00Z'),
      ms('2026-11-26T07:00:00Z'),
    ])
  })

  test('a re-sent record with changed fields updates the row in place', async () => {
    await importText('sessions', ndjson(SESSIONS))
    const changed = { ...SESSIONS[1], pageviews: 7, device: 'tablet' }
    expect(await importText('sessions', ndjson([changed]))).toMatchObject({
      inserted: 0,
      updated: 1,
    })
    expect(await data.get("SELECT pageviews, device FROM sessions WHERE id = 's2'")).toEqual({
      pageviews: 7,
      device: 'tablet',
    })
    expect(await data.get('SELECT count(*) AS n FROM sessions')).toEqual({ n: 3 })
  })

  test('a re-sent order without session_id or name keeps the ones it had', async () => {
    await importText('orders', ndjson(ORDERS))
    await importText(
      'orders',
      ndjson([{ id: 1001, created_at: '2026-11-25T10:04:00-05:00', total_price: '59.90' }]),
    )
    expect(
      await data.get(
        "SELECT name, session_id, currency, financial_status FROM orders WHERE id = '1001'",
      ),
    ).toEqual({ name: '#1001', session_id: 's1', currency: 'USD', financial_status: null })
  })

  test('visitors keep their first and last time seen across imports', async () => {
    await importText('sessions', ndjson(SESSIONS))
    await importText(
      'sessions',
      ndjson([
        { id: 's9', visitor_id: 'v1', started_at: '2026-11-20T08:00:00Z' },
        { id: 's10', visitor_id: 'v1', started_at: '2026-11-27T08:00:00Z' },
      ]),
    )
    expect(
      await data.get("SELECT first_seen_at, last_seen_at FROM visitors WHERE id = 'v1'"),
    ).toEqual({
      first_seen_at: ms('2026-11-20T08:00:00Z'),
      last_seen_at: ms('2026-11-27T08:00:00Z'),
    })
  })

  test('more lines than one batch', async () => {
    const many = Array.from({ length: BATCH_SIZE + 7 }, (_, i) => ({
      id: `b${i}`,
      visitor_id: `v${i % 10}`,
      started_at: 1764064800000 + i * 1000,
    }))
    expect(await importText('sessions', ndjson(many))).toEqual({
      inserted: BATCH_SIZE + 7,
      updated: 0,
      rejected: 0,
      errors: [],
    })
  })
})

describe('bad lines', () => {
  test('are reported by line number with a clear message; good lines are kept', async () => {
    const lines = [
      '{"id":"a","visitor_id":"v","started_at":"2026-11-25T10:00:00Z"}',
      'not json',
      '[1,2]',
      '{"id":"b","started_at":"2026-11-25T10:00:00Z"}',
      '{"id":"c","visitor_id":"v","started_at":"yesterday"}',
      '',
      '{"id":"d","visitor_id":"v","started_at":"2026-11-25T10:00:00Z","ended_at":"2026-11-25T09:00:00Z"}',
      '{"id":"e","visitor_id":"v","started_at":"2026-11-25T10:00:00Z","viewed_product":"yes"}',
      '{"id":"f","visitor_id":"v","started_at":"2026-11-25T10:00:00"}',
      'null',
      '{"id":"g","visitor_id":"v","started_at":"2026-11-25T12:00:00Z","device":"phone"}',
      '{"id":"h","visitor_id":"w","started_at":"2026-11-25T13:00:00Z"}\r',
    ]
    const summary = await importText('sessions', lines.join('\n'))
    expect(summary).toEqual({
      inserted: 2,
      updated: 0,
      rejected: 9,
      errors: [
        { line: 2, error: 'not valid JSON' },
        { line: 3, error: 'must be a JSON object' },
        { line: 4, error: 'visitor_id: is required' },
        {
          line: 5,
          error:
            'started_at: must be a time with an offset, like 2026-11-25T14:03:00Z, got "yesterday"',
        },
        { line: 7, error: 'ended_at: must not be before started_at' },
        { line: 8, error: 'viewed_product: must be true or false' },
        {
          line: 9,
          error:
            'started_at: must be a time with an offset, like 2026-11-25T14:03:00Z, got "2026-11-25T10:00:00"',
        },
        { line: 10, error: 'must be a JSON object' },
        {
          line: 11,
          error: 'device: Invalid option: expected one of "desktop"|"mobile"|"tablet"',
        },
      ],
    })
    expect((await rows('sessions')).map((r) => r.id)).toEqual(['a', 'h'])
  })

  test('order lines: missing and malformed amounts, currency, flags', async () => {
    const lines = [
      '{"id":1,"created_at":"2026-11-25T10:00:00Z","total_price":"-5"}',
      '{"id":2,"created_at":"2026-11-25T10:00:00Z","total_price":"12,30"}',
      '{"id":3,"created_at":"2026-11-25T10:00:00Z"}',
      '{"id":4,"created_at":"2026-11-25T10:00:00Z","total_price":true}',
      '{"id":5,"created_at":"2026-11-25T10:00:00Z","total_price":"1","currency":"dollars"}',
      '{"id":6,"created_at":"2026-11-25T10:00:00Z","total_price":"1","test":"no"}',
      '{"total_price":"1"}',
      '{"id":9,"created_at":-1,"total_price":"1"}',
      '{"id":8,"created_at":"2026-11-25T10:00:00Z","total_price":"1.005"}',
    ]
    expect(await importText('orders', lines.join('\n'))).toEqual({
      inserted: 1,
      updated: 0,
      rejected: 8,
      errors: [
        { line: 1, error: 'total_price: must be a non-negative amount like "12.34", got "-5"' },
        { line: 2, error: 'total_price: must be a non-negative amount like "12.34", got "12,30"' },
        { line: 3, error: 'total_price: is required' },
        { line: 4, error: 'total_price: must be a non-negative amount like "12.34"' },
        { line: 5, error: 'currency: must be a 3-letter currency code' },
        { line: 6, error: 'test: must be true or false' },
        { line: 7, error: 'id: is required; created_at: is required' },
        { line: 8, error: 'created_at: Too small: expected number to be >=0' },
      ],
    })
    expect((await rows('orders')).map((r) => [r.id, r.total_price_cents])).toEqual([['8', 101]])
  })

  test('only the first 100 reasons are kept, all rejected lines are counted', async () => {
    const text = `${Array.from({ length: 150 }, () => 'oops').join('\n')}\n{"id":"ok","visitor_id":"v","started_at":0}\n`
    const summary = await importText('sessions', text)
    expect(summary.rejected).toBe(150)
    expect(summary.inserted).toBe(1)
    expect(summary.errors.length).toBe(100)
    expect(summary.errors[99]).toEqual({ line: 100, error: 'not valid JSON' })
  })
})

describe('chunks', () => {
  test('however the input is cut, the summary and the rows are the same', async () => {
    const lines = [
      ...Array.from({ length: 200 }, (_, i) =>
        i % 3 === 0
          ? `{"id":"c${i}","visitor_id":"vé${i % 7}","started_at":${1764064800000 + i}}`
          : 'oops',
      ),
      '{"id":"last","visitor_id":"v","started_at":0}',
    ]
    const bytes = new TextEncoder().encode(lines.join('\r\n'))
    const chunked = (size: number) => inChunks(bytes, size)
    const whole = await importNdjson(data, store, 'sessions', chunked(bytes.length), clock)
    // Lines 1, 4, 7 … 199 and 201 are good; the first 100 of the 133 bad ones are described.
    expect(whole).toMatchObject({ inserted: 68, updated: 0, rejected: 133 })
    expect(whole.errors.length).toBe(100)
    expect(whole.errors[0]).toEqual({ line: 2, error: 'not valid JSON' })
    expect(whole.errors[99]).toEqual({ line: 150, error: 'not valid JSON' })
    const stored = await rows('sessions')
    for (const size of [1, 7, 4096]) {
      // Same lines again: every good one is now an update.
      expect(await importNdjson(data, store, 'sessions', chunked(size), clock)).toEqual({
        ...whole,
        inserted: 0,
        updated: 68,
      })
    }
    expect((await rows('sessions')).map((r) => [r.id, r.visitor_id])).toEqual(
      stored.map((r) => [r.id, r.visitor_id]),
    )
  })
})

describe('byte order marks', () => {
  // Lines are parsed in blocks on two threads: only the input's own leading BOM is dropped, as
  // one decoder over the whole input would; one starting a later line is refused, wherever
  // the input happens to be cut.
  const BOM = '\uFEFF'
  const line = (id: string) => `{"id":"${id}","visitor_id":"v","started_at":1764064800000}`
  const text = [`${BOM}${line('a')}`, `${BOM}${line('b')}`, line('c'), `${BOM}${line('d')}`].join(
    '\n',
  )
  const bytes = new TextEncoder().encode(text)
  const chunked = (size: number) => inChunks(bytes, size)

  test.each([1, 2, 3, 5, 61, bytes.length])(
    'cut every %i bytes: the same summary',
    async (size) => {
      expect(await importNdjson(data, store, 'sessions', chunked(size), clock)).toEqual({
        inserted: 2,
        updated: 0,
        rejected: 2,
        errors: [
          { line: 2, error: 'not valid JSON' },
          { line: 4, error: 'not valid JSON' },
        ],
      })
      expect((await rows('sessions')).map((r) => r.id)).toEqual(['a', 'c'])
    },
  )

  test('an input that is only a BOM, or part of one, is no line, or one bad line', async () => {
    const run = (b: number[]) =>
      importNdjson(data, store, 'sessions', new Blob([new Uint8Array(b)]).stream(), clock)
    expect(await run([0xef, 0xbb, 0xbf])).toEqual({
      inserted: 0,
      updated: 0,
      rejected: 0,
      errors: [],
    })
    expect(await run([0xef, 0xbb])).toMatchObject({ rejected: 1, errors: [{ line: 1 }] })
  })
})

describe('defaults and parsing', () => {
  test('a minimal session gets every default', async () => {
    await importText('sessions', '{"id":"s","visitor_id":"v","started_at":"2026-11-25T10:00:00Z"}')
    expect(await rows('sessions')).toEqual([
      {
        store_id: store.id,
        id: 's',
        visitor_id: 'v',
        started_at: ms('2026-11-25T10:00:00Z'),
        ended_at: ms('2026-11-25T10:00:00Z'),
        pageviews: 1,
        device: 'desktop',
        source: 'direct',
        landing_page: '/',
        viewed_product: 0,
        added_to_cart: 0,
        reached_checkout: 0,
        updated_at: ms('2026-11-26T06:00:00Z'),
      },
    ])
  })

  test('a full session and order are stored as given, ids as strings, money in cents', async () => {
    await importText('sessions', ndjson(SESSIONS))
    await importText('orders', ndjson(ORDERS))
    expect((await rows('sessions')).map(({ store_id, updated_at, ...r }) => r)).toEqual([
      {
        id: '3',
        visitor_id: '42',
        started_at: 1764068400000,
        ended_at: 1764068400000,
        pageviews: 0,
        device: 'desktop',
        source: 'direct',
        landing_page: '/',
        viewed_product: 0,
        added_to_cart: 0,
        reached_checkout: 0,
      },
      {
        id: 's1',
        visitor_id: 'v1',
        started_at: ms('2026-11-25T15:00:00Z'),
        ended_at: ms('2026-11-25T15:05:00Z'),
        pageviews: 4,
        device: 'mobile',
        source: 'paid',
        landing_page: '/products/shirt',
        viewed_product: 1,
        added_to_cart: 1,
        reached_checkout: 0,
      },
      {
        id: 's2',
        visitor_id: 'v2',
        started_at: ms('2026-11-25T11:00:00Z'),
        ended_at: ms('2026-11-25T11:00:00Z'),
        pageviews: 1,
        device: 'desktop',
        source: 'direct',
        landing_page: '/',
        viewed_product: 0,
        added_to_cart: 0,
        reached_checkout: 0,
      },
    ])
    expect((await rows('orders')).map(({ store_id, updated_at, ...r }) => r)).toEqual([
      {
        id: '1001',
        name: '#1001',
        created_at: ms('2026-11-25T15:04:00Z'),
        total_price_cents: 5990,
        currency: 'USD',
        financial_status: 'paid',
        cancelled_at: null,
        test: 0,
        session_id: 's1',
      },
      {
        id: '1002',
        name: null,
        created_at: ms('2026-11-25T17:00:00Z'),
        total_price_cents: 1200,
        currency: null,
        financial_status: null,
        cancelled_at: null,
        test: 0,
        session_id: null,
      },
    ])
  })

  test('parseMoneyCents: exact decimal parsing, half-up past two decimals', () => {
    const cases: [string | number, number | null][] = [
      ['12.30', 1230],
      [12.3, 1230],
      ['12', 1200],
      [12, 1200],
      ['12.', 1200],
      [' 7.5 ', 750],
      ['0.005', 1],
      ['0.004', 0],
      ['1.999', 200],
      ['1.995', 200],
      ['19.99', 1999],
      [0.1 + 0.2, 30],
      ['123456789.01', 12345678901],
      ['-1', null],
      ['1e3', null],
      ['abc', null],
      ['12,30', null],
      ['', null],
      ['.5', null],
      [1e21, null],
    ]
    for (const [input, cents] of cases)
      expect([input, parseMoneyCents(input)]).toEqual([input, cents])
  })

  test('parseInstant: ISO with an offset, Shopify style, nothing without an offset', () => {
    expect(parseInstant('2026-11-25T14:03:00Z')).toBe(ms('2026-11-25T14:03:00Z'))
    expect(parseInstant('2026-11-25T09:03:00-05:00')).toBe(ms('2026-11-25T14:03:00Z'))
    expect(parseInstant('2026-11-25T09:03:00.250-05:00')).toBe(ms('2026-11-25T14:03:00.250Z'))
    expect(parseInstant('2026-11-20 10:00:00 -0500')).toBe(ms('2026-11-20T15:00:00Z'))
    expect(parseInstant('2026-11-20 10:00 +0100')).toBe(ms('2026-11-20T09:00:00Z'))
    expect(parseInstant('2026-11-25T14:03:00')).toBeNull()
    expect(parseInstant('2026-11-25')).toBeNull()
    expect(parseInstant('tomorrow')).toBeNull()
  })

  test('describeIssues names missing fields as required, with or without the input', () => {
    const empty = orderInput.safeParse({})
    expect(empty.success).toBe(false)
    const all = 'id: is required; created_at: is required; total_price: is required'
    if (!empty.success) {
      expect(describeIssues(empty.error)).toBe(all)
      expect(describeIssues(empty.error, {})).toBe(all)
    }
    const input = { id: 'x', started_at: 5, visitor_id: '' }
    const wrong = sessionInput.safeParse(input)
    if (wrong.success) throw new Error('expected a failure')
    expect(describeIssues(wrong.error, input)).toBe(
      'visitor_id: Too small: expected string to have >=1 characters',
    )
  })

  test('landingPath reduces a URL to its path', () => {
    expect(landingPath('https://shop.example/products/a?utm_source=x#top')).toBe('/products/a')
    expect(landingPath('/collections/all?page=2')).toBe('/collections/all')
    expect(landingPath('')).toBe('/')
    expect(landingPath('https://shop.example')).toBe('/')
  })
})

describe('LineSplitter', () => {
  test('numbers lines across chunk boundaries, multi-byte characters and CRLF', () => {
    const bytes = new TextEncoder().encode('one\r\ntwo é\n\nthree')
    // Cut inside "\r\n" and inside the two bytes of "é".
    const chunks = [bytes.slice(0, 2), bytes.slice(2, 4), bytes.slice(4, 9), bytes.slice(9, 10)]
    const lines: [number, string][] = []
    const splitter = new LineSplitter()
    for (const c of chunks) splitter.push(c, (n, text) => lines.push([n, text]))
    splitter.push(bytes.slice(10), (n, text) => lines.push([n, text]))
    splitter.end((n, text) => lines.push([n, text]))
    expect(lines).toEqual([
      [1, 'one'],
      [2, 'two é'],
      [3, ''],
      [4, 'three'],
    ])
    expect(splitter.lines).toBe(4)
  })
})

describe("a visitor's first and last seen times", () => {
  const visitors = () =>
    data.all('SELECT id, first_seen_at, last_seen_at FROM visitors ORDER BY id')
  const line = (id: string, visitor: string, start: string, end: string) =>
    JSON.stringify({ id, visitor_id: visitor, started_at: start, ended_at: end })

  test('follow their sessions, also when a re-sent session moves later or changes visitor', async () => {
    await importText(
      'sessions',
      [
        line('a', 'v1', '2026-11-20T10:00:00Z', '2026-11-20T10:05:00Z'),
        line('b', 'v1', '2026-11-22T10:00:00Z', '2026-11-22T10:01:00Z'),
        line('c', 'v2', '2026-11-21T09:00:00Z', '2026-11-21T09:30:00Z'),
      ].join('\n'),
    )
    expect(await visitors()).toEqual([
      {
        id: 'v1',
        first_seen_at: ms('2026-11-20T10:00:00Z'),
        last_seen_at: ms('2026-11-22T10:01:00Z'),
      },
      {
        id: 'v2',
        first_seen_at: ms('2026-11-21T09:00:00Z'),
        last_seen_at: ms('2026-11-21T09:30:00Z'),
      },
    ])
    // v1's first session moves two days later: v1 is first seen at its other session now.
    await importText('sessions', line('a', 'v1', '2026-11-24T10:00:00Z', '2026-11-24T10:02:00Z'))
    expect((await visitors())[0]).toEqual({
      id: 'v1',
      first_seen_at: ms('2026-11-22T10:00:00Z'),
      last_seen_at: ms('2026-11-24T10:02:00Z'),
    })
    // v2's only session is re-sent as v3's: v2 no longer exists, v3 does.
    await importText('sessions', line('c', 'v3', '2026-11-21T09:00:00Z', '2026-11-21T09:30:00Z'))
    expect(await visitors()).toEqual([
      {
        id: 'v1',
        first_seen_at: ms('2026-11-22T10:00:00Z'),
        last_seen_at: ms('2026-11-24T10:02:00Z'),
      },
      {
        id: 'v3',
        first_seen_at: ms('2026-11-21T09:00:00Z'),
        last_seen_at: ms('2026-11-21T09:30:00Z'),
      },
    ])
  })
})
