// The parse thread of an NDJSON import: bytes in, validated records out, in order.
import { NdjsonParser, type RecordKind } from './ndjson.ts'

declare const self: Worker

/** First message: the kind; then byte chunks; `null` ends the input. */
export type ParseMessage = { kind: RecordKind } | Uint8Array | null

let parser: NdjsonParser | null = null

self.onmessage = (event: MessageEvent<ParseMessage>) => {
  const message = event.data
  if (message !== null && !(message instanceof Uint8Array)) {
    parser = new NdjsonParser(message.kind)
    return
  }
  if (!parser) throw new Error('the import worker got data before its kind')
  postMessage(message === null ? { ...parser.end(), done: true } : parser.push(message))
}
