// A parse thread of an NDJSON import: blocks of whole lines in, validated records out. It runs in
// a worker of its own (started by parseThread.ts, which numbers the lines across blocks) and
// never touches the database.
import {
  MAX_REPORTED_ERRORS,
  NdjsonParser,
  type ParsedChunk,
  type RecordKind,
  sessionRows,
} from '../ndjson.ts'
import type { SessionRecord } from '../records.ts'

declare const self: Worker

/**
 * First message: the kind, and whether sessions come back as JSON rows (see ParseReply); then
 * blocks of whole lines (the input's last block may lack its final newline).
 */
export type ParseMessage = { kind: RecordKind; rows: boolean } | Uint8Array

/**
 * A parsed block as sent back, its lines numbered from 1 within the block. With `rows`, sessions come as one JSON text instead of records
 * (`records` is then empty): one string crosses threads far cheaper than thousands of objects,
 * and the first load binds its values to multi-row inserts.
 */
export type ParseReply = ParsedChunk & {
  rows?: { json: string; count: number }
  done?: true
}

let kind: RecordKind | null = null
let asRows = false

self.onmessage = (event: MessageEvent<ParseMessage>) => {
  const message = event.data
  if (!(message instanceof Uint8Array)) {
    kind = message.kind
    asRows = message.rows && message.kind === 'sessions'
    return
  }
  if (!kind) throw new Error('the import worker got data before its kind')
  // A BOM is dropped at the input's start only (by parseThread.ts), not at each block's.
  const parser = new NdjsonParser(kind, { keepBOM: true })
  const reply: ParseReply = parser.push(message)
  const last = parser.end()
  reply.records.push(...last.records)
  reply.rejected += last.rejected
  reply.errors.push(...last.errors.slice(0, MAX_REPORTED_ERRORS - reply.errors.length))
  reply.lines = last.lines
  if (asRows) {
    const records = reply.records as SessionRecord[]
    reply.rows = { json: sessionRows(records), count: records.length }
    reply.records = []
  }
  postMessage(reply)
}
