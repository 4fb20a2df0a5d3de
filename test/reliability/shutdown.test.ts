// Graceful shutdown of a real server child process: SIGTERM stops accepting, lets the requests in
// flight finish (a slowly streamed import, a burst of collect events), closes the database and
// exits 0; a second SIGTERM during a long shutdown exits at once with 143.
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import {
  integrity,
  peek,
  postPageview,
  prepareDataDir,
  scalar,
  testScope,
  waitUntil,
} from './child.ts'

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
 * An import whose NDJSON body is streamed in `chunks` parts `everyMs` apart; `send(false)` stalls
 * it. Resolves with the status and body once the server answers.
 */
function streamedImport(
  url: string,
  key: string,
  chunks: number,
  linesPerChunk: number,
  everyMs: number,
) {
  const { hostname, port } = new URL(url)
  let sent = 0
  let stalled = false
  let timer: ReturnType<typeof setInterval> | undefined
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method: 'POST',
        path: '/apiv1/import/sessions',
        headers: { 'x-mida-secret-key': key, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let body = ''
        res.on('data', (c) => {
          body += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    timer = setInterval(() => {
      if (stalled) return
      let text = ''
      for (let j = 0; j < linesPerChunk; j++) {
        const n = sent * linesPerChunk + j
        text += `${JSON.stringify({ id: `slow-${n}`, visitor_id: `v${n}`, started_at: '2026-11-20T10:00:00Z' })}\n`
      }
      req.write(text)
      sent++
      if (sent === chunks) {
        clearInterval(timer)
        req.end()
      }
    }, everyMs)
  })
  return {
    answer,
    sentChunks: () => sent,
    stall: () => {
      stalled = true
    },
    abort: () => clearInterval(timer),
  }
}

describe('SIGTERM', () => {
  test('refuses new connections, finishes the import and collect events in flight, exits 0', async () => {
    const dir = scope.dataDir('mida-shutdown-')
    const { trackingId, key } = prepareDataDir(dir, {
      settings: { timezone: 'UTC' },
      keyScope: 'ingest',
    })
    const server = await scope.startServer(dir)

    // 40 chunks of 100 lines, 25 ms apart: about a second of streaming.
    const slow = streamedImport(server.url, key as string, 40, 100, 25)
    await waitUntil(() => slow.sentChunks() >= 5, 'the import to be under way')
    // A burst of collect events, on their way when the signal arrives.
    const burst = Array.from({ length: 50 }, (_, i) =>
      postPageview(server.url, trackingId, `burst-visitor-${i}`, 'https://shop.example/').then(
        (res) => ({ visitor: `burst-visitor-${i}`, status: res.status }),
        () => ({ visitor: `burst-visitor-${i}`, status: 0 }),
      ),
    )
    await Bun.sleep(20)
    server.proc.kill('SIGTERM')

    await waitUntil(() => refused(server.port), 'new connections to be refused', 5_000, 10)
    expect(slow.sentChunks()).toBeLessThan(40) // the import was still streaming

    const { status, body } = await slow.answer
    expect(status).toBe(200)
    expect(JSON.parse(body)).toMatchObject({ success: true, inserted: 4000, rejected: 0 })
    const collected = await Promise.all(burst)
    expect(collected.filter((c) => c.status !== 204)).toEqual([])
    expect(await server.exited).toBe(0)
    expect(server.stderr()).toContain('SIGTERM received, shutting down')

    expect(integrity(dir)).toBe('ok')
    const db = peek(dir)
    expect(scalar(db, "SELECT count(*) FROM sessions WHERE id LIKE 'slow-%'")).toBe(4000)
    expect(
      scalar(db, "SELECT count(*) FROM sessions WHERE visitor_id LIKE 'burst-visitor-%'"),
    ).toBe(50)
    db.close()
  })

  test('a second SIGTERM during a long shutdown exits at once with 143', async () => {
    const dir = scope.dataDir('mida-shutdown-')
    const { key } = prepareDataDir(dir, { settings: { timezone: 'UTC' }, keyScope: 'ingest' })
    const server = await scope.startServer(dir)

    // An import that stops sending half way: the shutdown would wait for it (up to 30 s).
    const stuck = streamedImport(server.url, key as string, 100, 10, 10)
    scope.defer(() => stuck.abort())
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
    expect(integrity(dir)).toBe('ok')
  })
})
