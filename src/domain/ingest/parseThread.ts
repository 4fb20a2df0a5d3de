// The importing side of the parse thread: starts the worker (parseWorker.ts), hands it byte
// chunks and takes its replies back in order. It neither parses nor writes rows.
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

/** The import's parse thread (parseWorker.ts): chunks go in, records come back in order. */
export class ParseThread {
  private readonly worker = new Worker(WORKER_URL)
  private readonly replies: ParseReply[] = []
  private readonly sizes: number[] = []
  private wake: (() => void) | null = null
  private failure: Error | null = null
  /** Bytes sent whose records have not been taken yet. */
  ahead = 0

  /** `rows`: sessions come back as JSON rows, for a first load. */
  constructor(kind: RecordKind, rows: boolean) {
    this.worker.onmessage = (event: MessageEvent<ParseReply>) => {
      this.replies.push(event.data)
      this.wake?.()
    }
    this.worker.onerror = (event) => {
      this.failure = new Error(`The import's parse thread failed: ${event.message}`)
      this.wake?.()
    }
    this.worker.postMessage({ kind, rows } satisfies ParseMessage)
  }

  send(chunk: Uint8Array): void {
    this.worker.postMessage(chunk satisfies ParseMessage)
    this.sizes.push(chunk.byteLength)
    this.ahead += chunk.byteLength
  }

  end(): void {
    this.worker.postMessage(null satisfies ParseMessage)
    this.sizes.push(0)
  }

  /** The replies that are back, without waiting. */
  take(): ParseReply[] {
    const replies = this.replies.splice(0)
    for (const _ of replies) this.ahead -= this.sizes.shift() ?? 0
    return replies
  }

  /** The next reply, waiting for it. */
  async next(): Promise<ParseReply> {
    while (this.replies.length === 0) {
      if (this.failure) throw this.failure
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
      this.wake = null
    }
    this.ahead -= this.sizes.shift() ?? 0
    return this.replies.shift()!
  }

  close(): void {
    this.worker.terminate()
  }
}
