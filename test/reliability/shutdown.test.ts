// Graceful shutdown of a real server child process: SIGTERM stops accepting, lets the requests in
// flight finish (a slowly streamed import, a burst of collect events), closes the database and
// exits 0; a second SIGTERM during a long shutdown exits at once with 143.
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { connect } from 'node:net'
import { integrity, peek, prepareDataDir, scalar, testScope, waitUntil } from './child.ts'

setDefaultTimeout(30_000)

const scope = testScope()

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

/**
 * A POST on its own TCP connection, announced with `Expect: 100-continue`. `taken` resolves when
 * the server answers "100 Continue", which Bun does once it has read the request's head and handed
 * it to a handler: from then on the request is in flight on the server's side, whatever the load
 * (bytes a client merely wrote may still be unread when the signal is handled). The body follows
 * with `write`; `answer` is the final status and body (the connection closes after it).
 */
function heldRequest(port: number, path: string, headers: Record<string, string>) {
  const socket = connect(port, '127.0.0.1')
  const taken = Promise.withResolvers<void>()
  const answer = Promise.withResolvers<{ status: number; body: string }>()
  let received = ''
  let continued = false
  socket.on('data', (data) => {
    received += data
    if (!continued && /^HTTP\/1\.1 100 [^\r]*\r\n\r\n/.test(received)) {
      continued = true
      received = received.slice(received.indexOf('\r\n\r\n') + 4)
      taken.resolve()
    }
  })
  socket.on('error', (err) => {
    taken.reject(err)
    answer.reject(err)
  })
  socket.on('close', () => {
    const final = /^HTTP\/1\.1 (\d{3}) [\s\S]*?\r\n\r\n([\s\S]*)$/.exec(received)
    const failure = new Error(`no answer to ${path}: ${JSON.stringify(received)}`)
    taken.reject(failure)
    if (final) answer.resolve({ status: Number(final[1]), body: final[2] as string })
    else answer.reject(failure)
  })
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  socket.write(
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${head}expect: 100-continue\r\nconnection: close\r\n\r\n`,
  )
  void taken.promise.catch(() => {})
  return {
    taken: taken.promise,
    answer: answer.promise,
    write: (text: string) => void socket.write(text),
    destroy: () => void socket.destroy(),
  }
}

/**
 * An import whose NDJSON body is streamed in `chunks` parts `everyMs` apart once the server has
 * taken it (`taken`); `stall()` holds it, `resume()` goes on. `answer` is the status and body.
 */
function streamedImport(
  port: number,
  key: string,
  chunks: number,
  linesPerChunk: number,
  everyMs: number,
) {
  const req = heldRequest(port, '/apiv1/import/sessions', {
    'x-mida-secret-key': key,
    'transfer-encoding': 'chunked',
  })
  let sent = 0
  let stalled = false
  let timer: ReturnType<typeof setInterval> | undefined
  void req.taken.then(() => {
    timer = setInterval(() => {
      if (stalled) return
      let text = ''
      for (let j = 0; j < linesPerChunk; j++) {
        const n = sent * linesPerChunk + j
        text += `${JSON.stringify({ id: `slow-${n}`, visitor_id: `v${n}`, started_at: '2026-11-20T10:00:00Z' })}\n`
      }
      req.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`)
      sent++
      if (sent === chunks) {
        clearInterval(timer)
        req.write('0\r\n\r\n')
      }
    }, everyMs)
  })
  return {
    taken: req.taken,
    answer: req.answer,
    sentChunks: () => sent,
    stall: () => {
      stalled = true
    },
    resume: () => {
      stalled = false
    },
    abort: () => {
      clearInterval(timer)
      req.destroy()
    },
  }
}

/** A tracker pageview whose body is sent by `send()`, as a desktop browser posts it. */
function heldPageview(port: number, store: string, visitor: string) {
  const body = JSON.stringify({ store, visitor, event: 'pageview', url: 'https://shop.example/' })
  const req = heldRequest(port, '/apiv1/collect', {
    'content-type': 'text/plain',
    'user-agent': 'Mozilla/5.0 (X11; Linux)',
    'content-length': String(Buffer.byteLength(body)),
  })
  return { taken: req.taken, answer: req.answer, send: () => req.write(body) }
}

describe('SIGTERM', () => {
  test('refuses new connections, finishes the import and collect events in flight, exits 0', async () => {
    const dir = scope.dataDir('mida-shutdown-')
    const { trackingId, key } = await prepareDataDir(dir, {
      settings: { timezone: 'UTC' },
      keyScope: 'ingest',
    })
    const server = await scope.startServer(dir)

    // 40 chunks of 100 lines, 25 ms apart: about a second of streaming, held half way through
    // the signal so that it certainly is still streaming then.
    const slow = streamedImport(server.port, key as string, 40, 100, 25)
    scope.defer(() => slow.abort())
    await slow.taken
    await waitUntil(() => slow.sentChunks() >= 5, 'the import to be under way')
    slow.stall()
    // A burst of collect events, taken by the server when the signal arrives; their bodies follow.
    const held = Array.from({ length: 50 }, (_, i) =>
      heldPageview(server.port, trackingId, `burst-visitor-${i}`),
    )
    await Promise.all(held.map((h) => h.taken))
    server.proc.kill('SIGTERM')

    await waitUntil(() => refused(server.port), 'new connections to be refused', 5_000, 10)
    expect(slow.sentChunks()).toBeLessThan(40) // the import was still streaming
    slow.resume()
    const burst = held.map((h, i) => {
      h.send()
      return h.answer.then(
        (res) => ({ visitor: `burst-visitor-${i}`, status: res.status }),
        () => ({ visitor: `burst-visitor-${i}`, status: 0 }),
      )
    })

    const { status, body } = await slow.answer
    expect(status).toBe(200)
    expect(JSON.parse(body)).toMatchObject({ success: true, inserted: 4000, rejected: 0 })
    const collected = await Promise.all(burst)
    expect(collected.filter((c) => c.status !== 204)).toEqual([])
    expect(await server.exited).toBe(0)
    expect(server.stderr()).toContain('SIGTERM received, shutting down')

    expect(await integrity(dir)).toBe('ok')
    const db = await peek(dir)
    expect(await scalar(db, "SELECT count(*) FROM sessions WHERE id LIKE 'slow-%'")).toBe(4000)
    expect(
      await scalar(db, "SELECT count(*) FROM sessions WHERE visitor_id LIKE 'burst-visitor-%'"),
    ).toBe(50)
    await db.close()
  })

  test('a second SIGTERM during a long shutdown exits at once with 143', async () => {
    const dir = scope.dataDir('mida-shutdown-')
    const { key } = await prepareDataDir(dir, { settings: { timezone: 'UTC' }, keyScope: 'ingest' })
    const server = await scope.startServer(dir)

    // An import that stops sending half way: the shutdown would wait for it (up to 30 s).
    const stuck = streamedImport(server.port, key as string, 100, 10, 10)
    scope.defer(() => stuck.abort())
    await stuck.taken
    await waitUntil(() => stuck.sentChunks() >= 3, 'the import to be under way')
    stuck.stall()
    void stuck.answer.catch(() => {})
    server.proc.kill('SIGTERM')
    await waitUntil(() => server.stderr().includes('SIGTERM received'), 'the first signal')
    await Bun.sleep(200)
    expect(server.proc.exitCode).toBeNull() // still waiting for the import

    const t = performance.now()
    server.proc.kill('SIGTERM')
    expect(await server.exited).toBe(143)
    expect(performance.now() - t).toBeLessThan(2_000)
    expect(server.stderr()).toContain('SIGTERM received again, exiting now')
    // Whatever was committed is intact.
    expect(await integrity(dir)).toBe('ok')
  })
})
