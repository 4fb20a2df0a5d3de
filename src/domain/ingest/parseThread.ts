// The importing side of the parse threads: starts the workers (parseWorker.ts), hands them blocks
// of whole lines in turn and takes their replies back in input order. It neither parses nor
// writes rows.
import { availableParallelism } from 'node:os'
import type { RecordKind } from '../ndjson.ts'
import type { ParseMessage, ParseReply } from './parseWorker.ts'

/**
 * Bytes handed to the parse thread and not yet written: the thread parses this far ahead while
 * a batch is being written, and no further, so memory stays flat however large the input.
 */
export const PARSE_AHEAD_BYTES = 16 * 1024 * 1024

/**
 * The parse thread's entry point: beside this file, or, in the compiled binary (where this code
 * is bundled into the root entry), under domain/ingest/ of the binary's file system
 * (scripts/build.ts).
 */
const WORKER_URL = import.meta.url.includes('/$bunfs/')
  ? new URL('./domain/ingest/parseWorker.ts', import.meta.url)
  : new URL('./parseWorker.ts', import.meta.url)

/**
 * Parse threads: one per core, at most this many. Parsing (JSON, then validation) is an import's
 * heaviest work per line, and the writing thread mostly waits for it: on two cores, two parse
 * threads and the writer share them (a first load of 1 M shuffled sessions spent 12 s waiting on
 * one parse thread, of which 4.6 s writing).
 */
const PARSE_THREADS = 2

/** The newline byte: blocks are cut after one, so no line (and no UTF-8 character) is split. */
const NEWLINE = 10

/** UTF-8's byte order mark. */
const BOM = [0xef, 0xbb, 0xbf]

/**
 * The import's parse threads (parseWorker.ts): byte chunks go in, cut into blocks of whole lines
 * handed to the threads in turn; parsed blocks come back in input order, their lines numbered
 * across the whole input.
 */
export class ParseThread {
  private readonly workers: Worker[] = []
  /** Each worker's replies not taken yet. */
  private readonly replies: ParseReply[][] = []
  /** Blocks sent and not yet taken: which worker has each, and its size, in input order. */
  private readonly sent: { worker: number; size: number }[] = []
  private turn = 0
  /** Bytes after the last newline so far, waiting for the rest of their line. */
  private carry: Uint8Array[] = []
  /** The input's first bytes while they could still be a byte order mark; null once decided. */
  private start: Uint8Array | null = new Uint8Array(0)
  /** Lines of the blocks taken so far: where the next block's numbering starts. */
  private linesBefore = 0
  private ended = false
  private wake: (() => void) | null = null
  private failure: Error | null = null
  /** Bytes sent whose records have not been taken yet. */
  ahead = 0

  /** `rows`: sessions come back as JSON rows, for a first load. */
  constructor(kind: RecordKind, rows: boolean) {
    const count = Math.max(1, Math.min(PARSE_THREADS, availableParallelism()))
    for (let i = 0; i < count; i++) {
      const worker = new Worker(WORKER_URL)
      const replies: ParseReply[] = []
      worker.onmessage = (event: MessageEvent<ParseReply>) => {
        replies.push(event.data)
        this.wake?.()
      }
      worker.onerror = (event) => {
        this.failure = new Error(`The import's parse thread failed: ${event.message}`)
        this.wake?.()
      }
      worker.postMessage({ kind, rows } satisfies ParseMessage)
      this.workers.push(worker)
      this.replies.push(replies)
    }
  }

  /** Hands the chunk's complete lines to the next thread; keeps a cut last line for later. */
  send(input: Uint8Array): void {
    const chunk = this.withoutBOM(input)
    if (chunk.length === 0) return
    const last = chunk.lastIndexOf(NEWLINE)
    if (last === -1) {
      // Joined once the line ends, not chunk by chunk: a long line costs its length, not its square.
      this.carry.push(chunk.slice())
      return
    }
    this.dispatch(joined([...this.carry, chunk.subarray(0, last + 1)]))
    this.carry = last + 1 < chunk.length ? [chunk.slice(last + 1)] : []
  }

  /** The input is complete: its last line, if it had no final newline, goes too. */
  end(): void {
    if (this.start !== null && this.start.length > 0) this.carry.unshift(this.start)
    this.start = null
    if (this.carry.length > 0) this.dispatch(joined(this.carry))
    this.carry = []
    this.ended = true
  }

  /**
   * The input without its leading byte order mark, if it has one (as a TextDecoder drops it):
   * its first three bytes are held until they are all there, however the input is cut.
   */
  private withoutBOM(chunk: Uint8Array): Uint8Array {
    if (this.start === null) return chunk
    const start = joined([this.start, chunk])
    if (start.length < BOM.length && BOM.slice(0, start.length).every((b, i) => start[i] === b)) {
      this.start = start
      return new Uint8Array(0)
    }
    this.start = null
    return BOM.every((b, i) => start[i] === b) ? start.subarray(BOM.length) : start
  }

  private dispatch(block: Uint8Array): void {
    const worker = this.turn
    this.turn = (this.turn + 1) % this.workers.length
    this.workers[worker]!.postMessage(block satisfies ParseMessage)
    this.sent.push({ worker, size: block.byteLength })
    this.ahead += block.byteLength
  }

  /** The replies that are back, in input order, without waiting. */
  take(): ParseReply[] {
    const out: ParseReply[] = []
    for (;;) {
      const head = this.sent[0]
      if (!head || this.replies[head.worker]!.length === 0) return out
      out.push(this.taken())
    }
  }

  /**
   * The next reply in input order, waiting for it. After end(), once every block is taken, a
   * reply with no records and `done` set.
   */
  async next(): Promise<ParseReply> {
    for (;;) {
      if (this.failure) throw this.failure
      const head = this.sent[0]
      if (!head && this.ended) {
        return { records: [], rejected: 0, errors: [], lines: this.linesBefore, done: true }
      }
      if (head && this.replies[head.worker]!.length > 0) return this.taken()
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
      this.wake = null
    }
  }

  /** The head block's reply, its line numbers made the input's. */
  private taken(): ParseReply {
    const head = this.sent.shift()!
    this.ahead -= head.size
    const reply = this.replies[head.worker]!.shift()!
    for (const error of reply.errors) error.line += this.linesBefore
    this.linesBefore += reply.lines
    reply.lines = this.linesBefore
    return reply
  }

  close(): void {
    for (const worker of this.workers) worker.terminate()
  }
}

/** Byte arrays end to end, in a new array of their own (a view would send its whole buffer). */
function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!.slice()
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}
