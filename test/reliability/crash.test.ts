// Crash safety: a real child process is killed with SIGKILL (kill -9) in the middle of an import,
// of HTTP ingest, of a sync and of sending an email; after a restart on the same data directory the
// database is intact, every acknowledged write is there, and the interrupted work is done.
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { FixedClock } from '../../src/domain/clock.ts'
import { BATCH_SIZE, writeSessions } from '../../src/domain/ingest/writers.ts'
import { type SessionRecord, sessionInput } from '../../src/domain/records.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { BUSY_TEXT } from '../../src/main.ts'
import { startSmtpSink } from '../smtp.ts'
import { describeSqliteOnly } from '../utils.ts'
import {
  dataDirEnv,
  holdWriteLock,
  integrity,
  killHard,
  openDataDir,
  peek,
  postPageview,
  prepareDataDir,
  scalar,
  spawnCli,
  testScope,
  waitUntil,
} from './child.ts'

setDefaultTimeout(30_000)

const scope = testScope()
const dataDir = () => scope.dataDir('mida-crash-')

/** The i-th generated session: deterministic, so a clean run's figures are known in advance. */
function session(i: number) {
  const started = Date.parse('2026-11-16T00:00:00Z') + i * 6_000
  return {
    id: `s${i}`,
    visitor_id: `v${i % 7_919}`,
    started_at: new Date(started).toISOString(),
    ended_at: new Date(started + (i % 600) * 1000).toISOString(),
    pageviews: 1 + (i % 7),
    device: ['desktop', 'mobile', 'tablet'][i % 3],
    landing_page: `/products/p${i % 97}`,
    viewed_product: i % 2 === 0,
  }
}

/** The figures a complete import of sessions 0 … n-1 gives. */
function expectedDigest(n: number) {
  let pageviews = 0
  for (let i = 0; i < n; i++) pageviews += 1 + (i % 7)
  return { sessions: n, pageviews, visitors: Math.min(n, 7_919) }
}

async function digest(dir: string) {
  const db = await peek(dir)
  try {
    return {
      sessions: await scalar(db, 'SELECT count(*) FROM sessions'),
      pageviews: await scalar(db, 'SELECT coalesce(sum(pageviews), 0) FROM sessions'),
      visitors: await scalar(db, 'SELECT count(DISTINCT visitor_id) FROM sessions'),
    }
  } finally {
    await db.close()
  }
}

/** Writes sessions into the data dir's store as an import does, from the test process. */
async function seedSessions(dir: string, sessions: SessionRecord[]): Promise<void> {
  const data = await openDataDir(dir)
  try {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const store = await ensureDefaultStore(data, clock)
    for (let b = 0; b < sessions.length; b += 5_000)
      await writeSessions(data, store, sessions.slice(b, b + 5_000), clock)
  } finally {
    await data.close()
  }
}

/** Writes sessions 0 … n-1 as an NDJSON file in `dir`; returns its path. */
async function sessionsFile(dir: string, n: number): Promise<string> {
  const file = join(dir, 'sessions.ndjson')
  const out = createWriteStream(file)
  for (let i = 0; i < n; i += 1000) {
    let chunk = ''
    for (let j = i; j < Math.min(i + 1000, n); j++) chunk += `${JSON.stringify(session(j))}\n`
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r))
  }
  await new Promise((r) => out.end(r))
  return file
}

/** The names and definitions of the database's indexes (SQLite's schema). */
async function indexes(dir: string) {
  const db = await peek(dir)
  try {
    return await db.all<{ name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name",
    )
  } finally {
    await db.close()
  }
}

describe('kill -9 during a bulk CLI import', () => {
  test('into a store holding sessions: whole batches only; the import again gives the clean-run figures', async () => {
    const dir = dataDir()
    await prepareDataDir(dir, { settings: { timezone: 'UTC' } })
    const total = 250_000
    const file = await sessionsFile(dir, total)
    // Session 0 is stored already, so the import writes batch by batch (not as a first load).
    await seedSessions(dir, [sessionInput.parse(session(0))])
    const env = await dataDirEnv(dir)

    const importer = spawnCli(['import', 'sessions', file, '--data-dir', dir], { env })
    const watcher = await peek(dir)
    // Kill once a few batches are committed, well before the end.
    await waitUntil(
      async () => (await scalar(watcher, 'SELECT count(*) FROM sessions')) >= 2 * BATCH_SIZE,
      'the first batches',
      // PostgreSQL's batches take seconds each here (~6 000 sessions a second under load).
      60_000,
    )
    await watcher.close()
    await killHard(importer)
    expect(importer.proc.signalCode).toBe('SIGKILL')

    expect(await integrity(dir)).toBe('ok')
    const partial = (await digest(dir)).sessions
    expect(partial).toBeGreaterThanOrEqual(2 * BATCH_SIZE)
    expect(partial).toBeLessThan(total)
    // One transaction a batch: a batch is there entirely or not at all (the seed is in the first).
    expect(partial % BATCH_SIZE).toBe(0)

    const again = spawnCli(['import', 'sessions', file, '--data-dir', dir, '--json'], { env })
    expect(await again.exited).toBe(0)
    const summary = JSON.parse(again.stdout())
    // The sessions already there are updated (to the same values), the rest inserted.
    expect(summary).toMatchObject({ inserted: total - partial, updated: partial, rejected: 0 })
    expect(await integrity(dir)).toBe('ok')
    expect(await digest(dir)).toEqual(expectedDigest(total))
  }, 180_000)
})

// SQLite's first load: one transaction that takes the database for itself, indexes rebuilt.
describeSqliteOnly('kill -9 during the first load of a CLI import (SQLite only)', () => {
  test('a first load (no sessions yet): nothing at all, every index intact; the import again gives the clean-run figures (SQLite only)', async () => {
    const dir = dataDir()
    await prepareDataDir(dir, { settings: { timezone: 'UTC' } })
    const total = 250_000
    const file = await sessionsFile(dir, total)
    const before = await indexes(dir)
    expect(before.map((i) => i.name)).toContain('sessions_by_visitor')

    // Fed through stdin, so the import is surely underway when it is killed: once the pipe has
    // taken 40 MB, all but the 16 MB parsed ahead are written into the open transaction.
    const importer = spawnCli(['import', 'sessions', '-', '--data-dir', dir], { stdin: 'pipe' })
    const stdin = importer.proc.stdin as import('bun').FileSink
    const input = await Bun.file(file).bytes()
    stdin.write(input.subarray(0, 40 * 1024 * 1024))
    await stdin.flush()
    await Bun.sleep(500)
    expect(importer.proc.exitCode).toBeNull()
    // The load has the database to itself: another command waits 5 s, then says why it stops.
    const other = spawnCli(['settings', '--data-dir', dir])
    expect(await other.exited).toBe(1)
    expect(other.stderr()).toBe(`Error: ${BUSY_TEXT}\n`)
    expect(importer.proc.exitCode).toBeNull()
    await killHard(importer)
    expect(importer.proc.signalCode).toBe('SIGKILL')

    expect(await integrity(dir)).toBe('ok')
    expect(await indexes(dir)).toEqual(before)
    expect(await digest(dir)).toEqual({ sessions: 0, pageviews: 0, visitors: 0 })
    const db = await peek(dir)
    expect(await scalar(db, 'SELECT count(*) FROM visitors')).toBe(0)
    expect(await scalar(db, 'SELECT data_revision FROM stores')).toBe(0)
    await db.close()

    const again = spawnCli(['import', 'sessions', file, '--data-dir', dir, '--json'])
    expect(await again.exited).toBe(0)
    expect(JSON.parse(again.stdout())).toMatchObject({ inserted: total, updated: 0, rejected: 0 })
    expect(await integrity(dir)).toBe('ok')
    expect(await indexes(dir)).toEqual(before)
    expect(await digest(dir)).toEqual(expectedDigest(total))
  })
})

describe('kill -9 during HTTP ingest', () => {
  test('every collect event and import answered 2xx before the kill is in the database', async () => {
    const dir = dataDir()
    const { trackingId, key } = await prepareDataDir(dir, {
      settings: { timezone: 'UTC' },
      keyScope: 'ingest',
    })
    // Four collectors post from 127.0.0.1 as fast as it answers: past the per-address default.
    const server = await scope.startServer(dir, { env: { MIDA_COLLECT_IP_RATE: '1000000' } })
    const ackedVisitors: string[] = []
    const ackedImports: string[][] = []
    let serverErrors = 0
    const statuses: Record<string, number> = {}
    let stop = false

    const collector = async (worker: number) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const visitor = `visitor-${worker}-${i}`
        try {
          const res = await postPageview(
            server.url,
            trackingId,
            visitor,
            `https://shop.example/products/p${i}`,
          )
          statuses[`collect ${res.status}`] = (statuses[`collect ${res.status}`] ?? 0) + 1
          if (res.status === 204) ackedVisitors.push(visitor)
          else if (res.status >= 500) serverErrors++
        } catch {
          return // the server is gone
        }
      }
    }
    const importer = async (worker: number) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const ids = Array.from({ length: 200 }, (_, j) => `imp-${worker}-${i}-${j}`)
        const body = ids
          .map((id, j) =>
            JSON.stringify({ id, visitor_id: `iv${j}`, started_at: '2026-11-20T10:00:00Z' }),
          )
          .join('\n')
        try {
          const res = await fetch(`${server.url}/apiv1/import/sessions`, {
            method: 'POST',
            headers: { 'x-mida-secret-key': key as string },
            body,
          })
          statuses[`import ${res.status}`] = (statuses[`import ${res.status}`] ?? 0) + 1
          if (res.status === 200) ackedImports.push(ids)
          else if (res.status >= 500) serverErrors++
          await res.arrayBuffer()
        } catch {
          return
        }
      }
    }
    const load = Promise.all([...[0, 1, 2, 3].map(collector), ...[0, 1].map((w) => importer(w))])
    await waitUntil(
      () => ackedVisitors.length >= 200 && ackedImports.length >= 5,
      'acknowledged writes',
    ).catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(statuses)} ${server.stderr()}`)
    })
    await killHard(server)
    stop = true
    await load

    expect(serverErrors).toBe(0)
    expect(await integrity(dir)).toBe('ok')
    const db = await peek(dir)
    try {
      const visitors = new Set(
        (await db.all<{ visitor_id: string }>('SELECT DISTINCT visitor_id FROM sessions')).map(
          (r) => r.visitor_id,
        ),
      )
      const sessionIds = new Set(
        (await db.all<{ id: string }>("SELECT id FROM sessions WHERE id LIKE 'imp-%'")).map(
          (r) => r.id,
        ),
      )
      expect(ackedVisitors.filter((v) => !visitors.has(v))).toEqual([])
      expect(ackedImports.flat().filter((id) => !sessionIds.has(id))).toEqual([])
      // An import is one unit per batch: no request left a part of its lines behind.
      const perRequest = new Map<string, number>()
      for (const id of sessionIds) {
        const request = id.slice(0, id.lastIndexOf('-'))
        perRequest.set(request, (perRequest.get(request) ?? 0) + 1)
      }
      expect([...perRequest.values()].filter((n) => n !== 200)).toEqual([])
    } finally {
      await db.close()
    }

    // The restarted server serves the same data directory.
    const again = await scope.startServer(dir)
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200)
    again.proc.kill('SIGTERM')
    expect(await again.exited).toBe(0)
  })
})

describe('kill -9 during a sync', () => {
  test('the claim of the dead process expires and the restarted scheduler syncs the period', async () => {
    const dir = dataDir()
    await prepareDataDir(dir, {
      settings: { timezone: 'UTC', api_enabled: 'true', sync_frequency: 'weekly', sync_hour: '1' },
    })
    // Enough sessions in the week of 16-22 November for the sync to take a while.
    await seedSessions(
      dir,
      Array.from({ length: 60_000 }, (_, i) => sessionInput.parse(session(i))),
    )
    const weekStart = Date.parse('2026-11-16T00:00:00Z')

    // The scheduler's first tick (at start-up) claims the due week and computes it.
    const server = await scope.startServer(dir, { now: '2026-11-26T06:00:00Z' })
    const watcher = await peek(dir)
    await waitUntil(
      () => watcher.get('SELECT 1 FROM sync_claims WHERE period_start = ?', weekStart),
      'the claim',
      10_000,
      1,
    )
    // Hold the write lock so the sync cannot commit its record, and kill it meanwhile.
    const lock = await holdWriteLock(dir)
    await killHard(server)
    await lock.release()
    expect(await watcher.all('SELECT owner, attempts, done_at FROM sync_claims')).toEqual([
      { owner: expect.stringContaining(`:${server.pid}:`), attempts: 1, done_at: null },
    ])
    expect(
      await scalar(watcher, "SELECT count(*) FROM sync_records WHERE status = 'success'"),
    ).toBe(0)
    await watcher.close()
    expect(await integrity(dir)).toBe('ok')

    // Restarted 6 minutes later (the claim's lease is 5): the first tick takes the claim over.
    const again = await scope.startServer(dir, { now: '2026-11-26T06:06:00Z' })
    const db = await peek(dir)
    const record = await waitUntil(
      () =>
        db.get<{ trigger: string; period_label: string; body: string }>(
          "SELECT trigger, period_label, body FROM sync_records WHERE status = 'success' AND period_start = ?",
          weekStart,
        ),
      'the retried sync',
    )
    expect(record.trigger).toBe('scheduler')
    expect(record.period_label).toBe('2026-11-16/2026-11-22')
    expect(JSON.parse(record.body).data.total_sessions).toBe(60_000)
    // The claim is closed just after the record commits (its own statement): wait for it too.
    const claim = await waitUntil(
      () => db.get('SELECT attempts FROM sync_claims WHERE done_at IS NOT NULL'),
      'the closed claim',
    )
    expect(claim).toEqual({ attempts: 2 })
    await db.close()
    again.proc.kill('SIGTERM')
    expect(await again.exited).toBe(0)
  })
})

describe('kill -9 while an email is being sent', () => {
  test('the email is sent again after the restart: never lost, at most one extra copy', async () => {
    let release: () => void = () => {}
    let holding = true
    const smtp = await startSmtpSink({
      holdReply: () =>
        holding ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve(),
    })
    scope.defer(() => smtp.stop())
    const dir = dataDir()
    await prepareDataDir(dir, {
      settings: {
        timezone: 'UTC',
        api_enabled: 'true',
        notify_success: 'true',
        store_email: 'owner@shop.example',
      },
    })
    const env = { MIDA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}` }
    // The start-up tick syncs 25 November and queues the success email; the sender sends it.
    const server = await scope.startServer(dir, { now: '2026-11-26T06:00:00Z', env })
    await smtp.waitFor(1, 10_000)
    // The SMTP server has the message but has not answered: the sender is mid-send.
    await killHard(server)
    holding = false
    release()

    const db = await peek(dir)
    expect(
      await db.all('SELECT status, attempts, lease_owner IS NOT NULL AS leased FROM outbox'),
    ).toEqual([{ status: 'pending', attempts: 0, leased: 1 }])
    expect(await integrity(dir)).toBe('ok')

    // 3 minutes later the dead sender's 2-minute lease has expired: the email goes out again.
    const again = await scope.startServer(dir, { now: '2026-11-26T06:03:00Z', env })
    await waitUntil(
      () => db.get("SELECT 1 FROM outbox WHERE status = 'sent'"),
      'the email to be sent',
    )
    expect(await db.get('SELECT count(*) AS n, min(attempts) AS attempts FROM outbox')).toEqual({
      n: 1,
      attempts: 1,
    })
    await db.close()
    again.proc.kill('SIGTERM')
    expect(await again.exited).toBe(0)
    expect(smtp.messages.map((m) => m.subject)).toEqual([
      '[Analytics Sync] Success - 2026-11-26 06:00',
      '[Analytics Sync] Success - 2026-11-26 06:00',
    ])
    expect(smtp.messages.map((m) => m.to)).toEqual([['owner@shop.example'], ['owner@shop.example']])
  })
})
