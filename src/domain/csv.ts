import type { z } from 'zod'
import type { Data } from '../db/data.ts'
import { orderIsTest } from '../db/orders.ts'
import { type ByteStream, type CsvRow, parseCsv } from '../lib/csv.ts'
import type { Clock } from './clock.ts'
import { InvalidInput } from './errors.ts'
import { sessionForOrder } from './ingest/attribution.ts'
import { importNdjson } from './ingest/ndjsonImport.ts'
import { emptySummary, type ImportSummary, reject } from './ingest/summary.ts'
import { BATCH_SIZE, writeOrders } from './ingest/writers.ts'
import { type OrderRecord, orderInput } from './records.ts'
import type { Store } from './stores.ts'

/** Shopify's column names (case and surrounding spaces do not matter). */
const COLUMNS = {
  id: 'id',
  name: 'name',
  createdAt: 'created at',
  total: 'total',
  currency: 'currency',
  financialStatus: 'financial status',
  cancelledAt: 'cancelled at',
  noteAttributes: 'note attributes',
} as const

/** The export's column for each order field, to word errors the way the file does. */
const COLUMN_OF: Record<string, string> = {
  id: 'Id',
  name: 'Name',
  created_at: 'Created at',
  total_price: 'Total',
  currency: 'Currency',
  financial_status: 'Financial Status',
  cancelled_at: 'Cancelled at',
}

/** `Total: is required; Created at: must be … (got "21/11/2026")`, in the file's own terms. */
function describeCells(error: z.ZodError, input: Record<string, unknown>): string {
  return error.issues
    .map((issue) => {
      const field = String(issue.path[0] ?? '')
      const label = COLUMN_OF[field] ?? field
      const value = input[field]
      if (value === undefined || value === null) return `${label}: is required`
      const message = issue.message.replace(/, got .*$/, '')
      return `${label}: ${message} (got ${JSON.stringify(value)})`
    })
    .join('; ')
}

/** True when a header row is that of Shopify's orders export. */
function isShopifyOrdersHeader(fields: string[]): boolean {
  const names = new Set(fields.map((f) => f.trim().toLowerCase()))
  return names.has(COLUMNS.name) && names.has(COLUMNS.createdAt) && names.has(COLUMNS.total)
}

/** Shopify's `Note Attributes` cell: one `name: value` a line. */
export function parseNoteAttributes(cell: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = []
  for (const text of cell.split(/\r?\n/)) {
    const colon = text.indexOf(':')
    if (colon > 0)
      out.push({ name: text.slice(0, colon).trim(), value: text.slice(colon + 1).trim() })
  }
  return out
}

/**
 * Imports Shopify's orders CSV export: one row per line item, the order's fields on its first
 * row (the rows of an order share its `Name`). Orders are upserted by `Id` (the id webhooks use;
 * `Name` when there is no Id column), so re-importing changes nothing. A bad order is reported
 * with the line its first row starts on. The export has no test flag: an order already known as
 * a test order stays one.
 */
async function importShopifyOrdersCsv(
  data: Data,
  store: Store,
  rows: AsyncIterable<CsvRow>,
  clock: Clock,
  onProgress?: (linesRead: number, summary: ImportSummary) => void,
): Promise<ImportSummary> {
  const summary = emptySummary()
  const iterator = rows[Symbol.asyncIterator]()
  const first = await iterator.next()
  if (first.done) return summary
  if ('error' in first.value) throw new InvalidInput(`CSV header: ${first.value.error}`)
  const header = first.value.fields.map((f) => f.trim().toLowerCase())
  if (!isShopifyOrdersHeader(header)) {
    throw new InvalidInput(
      'This CSV is not a Shopify orders export: it needs the columns Name, Created at and Total',
    )
  }
  const column = (name: string) => header.indexOf(name)
  const at = {
    id: column(COLUMNS.id),
    name: column(COLUMNS.name),
    createdAt: column(COLUMNS.createdAt),
    total: column(COLUMNS.total),
    currency: column(COLUMNS.currency),
    financialStatus: column(COLUMNS.financialStatus),
    cancelledAt: column(COLUMNS.cancelledAt),
    noteAttributes: column(COLUMNS.noteAttributes),
  }
  let batch: OrderRecord[] = []
  let lines = first.value.line
  let currentName: string | null = null
  const flush = async () => {
    if (batch.length > 0) {
      const result = await writeOrders(data, store, batch, clock)
      summary.inserted += result.inserted
      summary.updated += result.updated
      batch = []
    }
    onProgress?.(lines, summary)
  }
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const row = next.value
    lines = row.line
    if ('error' in row) {
      reject(summary, row.line, row.error)
      continue
    }
    const cell = (i: number) => (i >= 0 ? (row.fields[i] ?? '').trim() : '')
    const name = cell(at.name)
    // The order's other line items: its fields are on its first row only.
    if (name !== '' && name === currentName) continue
    currentName = name
    const value = (text: string) => (text === '' ? undefined : text)
    const input: Record<string, string | null | undefined> = {
      id: value(cell(at.id)) ?? value(name),
      name: value(name),
      created_at: value(cell(at.createdAt)),
      total_price: value(cell(at.total)),
      currency: value(cell(at.currency)),
      financial_status: value(cell(at.financialStatus)),
      cancelled_at: value(cell(at.cancelledAt)) ?? null,
    }
    const parsed = orderInput.safeParse(input)
    if (!parsed.success) {
      reject(summary, row.line, describeCells(parsed.error, input))
      continue
    }
    const order = parsed.data
    order.test = (await orderIsTest(data, store.id, order.id)) === true
    order.session_id = await sessionForOrder(
      data,
      store,
      { noteAttributes: parseNoteAttributes(cell(at.noteAttributes)) },
      order.created_at,
    )
    batch.push(order)
    if (batch.length >= BATCH_SIZE) await flush()
  }
  await flush()
  return summary
}

/** Reads the first line of a byte stream and gives back a stream that still starts with it. */
async function peekFirstLine(
  stream: ByteStream,
): Promise<{ firstLine: string; stream: AsyncIterable<Uint8Array> }> {
  const iterator = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  const head: Uint8Array[] = []
  let text = ''
  const decoder = new TextDecoder()
  let done = false
  while (!text.includes('\n') && text.length < 64 * 1024) {
    const next = await iterator.next()
    if (next.done) {
      done = true
      break
    }
    head.push(next.value)
    text += decoder.decode(next.value, { stream: true })
  }
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? ''
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield* head
    if (done) return
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      yield next.value
    }
  }
  return { firstLine, stream: replay() }
}

/**
 * Imports orders from NDJSON or from Shopify's orders CSV export, told apart by the first line
 * (a CSV header naming Name, Created at and Total).
 */
export async function importOrders(
  data: Data,
  store: Store,
  stream: ByteStream,
  clock: Clock,
  onProgress?: (linesRead: number, summary: ImportSummary) => void,
): Promise<{ format: 'csv' | 'ndjson'; summary: ImportSummary }> {
  const peeked = await peekFirstLine(stream)
  const header = peeked.firstLine.trim()
  if (!header.startsWith('{')) {
    const fields = header.split(',').map((f) => f.replace(/^\s*"|"\s*$/g, ''))
    if (isShopifyOrdersHeader(fields)) {
      const summary = await importShopifyOrdersCsv(
        data,
        store,
        parseCsv(peeked.stream),
        clock,
        onProgress,
      )
      return { format: 'csv', summary }
    }
    if (fields.length >= 3) {
      throw new InvalidInput(
        'This looks like a CSV file but not a Shopify orders export: it needs the columns Name, Created at and Total',
      )
    }
  }
  const summary = await importNdjson(data, store, 'orders', peeked.stream, clock, { onProgress })
  return { format: 'ndjson', summary }
}
