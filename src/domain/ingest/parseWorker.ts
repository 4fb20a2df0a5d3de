// The parse thread of an NDJSON import: bytes in, validated records out, in order. It runs in a
// worker of its own (started by parseThread.ts) and never touches the database.
import { NdjsonParser, type ParsedChunk, type RecordKind, sessionRows } from '../ndjson.ts'
import type { SessionRecord } from '../records.ts'

declare const self: Worker

/**
 * First message: the kind, and whether sessions come back as JSON rows (see ParseReply); then
 * byte chunks; `null` ends the input.
 */
export type ParseMessage = { kind: RecordKind; rows: boolean } | Uint8Array | null

/**
 * A parsed chunk as sent back. With `rows`, sessions come as one JSON text instead of records
 * (`records` is then empty): one string crosses threads far cheaper than thousands of objects,
 * and the first load binds its values to multi-row inserts.
 */
export type ParseReply = ParsedChunk & {
  rows?: { json: string; count: number }
  done?: true
}

let parser: NdjsonParser | null = null
let asRows = false

self.onmessage = (event: MessageEvent<ParseMessage>) => {
  const message = event.data
  if (message !== null && !(message instanceof Uint8Array)) {
    parser = new NdjsonParser(message.kind)
    asRows = message.rows && message.kind === 'sessions'
    return
  }
  if (!parser) throw new Error('the import worker got data before its kind')
  const reply: ParseReply = message === null ? parser.end() : parser.push(message)
  if (asRows) {
    const records = reply.records as SessionRecord[]
    reply.rows = { json: sessionRows(records), count: records.length }
    reply.records = []
  }
  if (message === null) reply.done = true
  postMessage(reply)
}
