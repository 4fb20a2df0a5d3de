// A real webhook receiver for the destinations' tests: Bun.serve on 127.0.0.1, a free port,
// recording every request it gets (raw body included) and answering as the test says.
import { join } from 'node:path'

/** One request as the receiver got it. */
interface Received {
  method: string
  path: string
  headers: Record<string, string>
  /** The raw body, as sent. */
  body: string
}

export interface Receiver {
  /** `http://127.0.0.1:PORT`. */
  url: string
  port: number
  received: Received[]
  /** Answers the next requests with this (default: 200 "ok"). */
  answer(reply: (r: Received) => Response | Promise<Response>): void
  stop(): Promise<void>
}

export function startReceiver(): Receiver {
  let reply: (r: Received) => Response | Promise<Response> = () => new Response('ok')
  const received: Received[] = []
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const r: Received = {
        method: req.method,
        path: new URL(req.url).pathname,
        headers: Object.fromEntries(req.headers),
        body: await req.text(),
      }
      received.push(r)
      return reply(r)
    },
  })
  const port = server.port as number
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    answer(next) {
      reply = next
    },
    stop: () => server.stop(true),
  }
}

type Verify = (secret: string, header: string, body: string, nowMs?: number) => boolean

/** The README's JavaScript signature check (test/fixtures/verifyMidaSignature.js), loaded as is. */
export async function readmeVerifier(): Promise<Verify> {
  const path = join(import.meta.dir, 'fixtures', 'verifyMidaSignature.js')
  return (await import(path)).verifyMidaSignature as Verify
}

/** The README's Python signature check, for a test run only where python3 exists. */
export const PYTHON_VERIFIER = join(import.meta.dir, 'fixtures', 'verify_mida_signature.py')
