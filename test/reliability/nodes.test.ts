// Several nodes on one PostgreSQL database (PostgreSQL only): real `serve` processes, each with
// its own data directory, share one database and one SMTP server. The scheduler's due period is
// synced once and its email sent once, also when the nodes' claims or senders meet at the same
// moment (the test holds a lock meanwhile, then lets them all go); a node killed with SIGKILL
// mid-send, or a batch held up past its lease, leaves the email to another node, still sent once;
// a login made on one node holds on all. Each node's clock starts at NOW (test/fixtures/serve-at.ts)
// and SIGUSR2 moves it on by MIDA_TEST_JUMP_MS, so a lease runs out without waiting for it.
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { SQL } from 'bun'
import type { Data } from '../../src/db/data.ts'
import { openData } from '../../src/db/open.ts'
import { WRITE_LOCK } from '../../src/db/postgres/data.ts'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createApiKey, revokeApiKey } from '../../src/domain/keys.ts'
import { Scheduler } from '../../src/domain/scheduler.ts'
import { initialiseSettings, updateSettings } from '../../src/domain/settings.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { syncPeriod } from '../../src/domain/sync.ts'
import { SYNC_PATH } from '../../src/http/sync.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { onPostgres, testDatabaseUrl } from '../utils.ts'
import { killHard, testScope, waitUntil } from './child.ts'

setDefaultTimeout(60_000)

const describePostgresOnly = describe.skipIf(!onPostgres)
const scope = testScope()

/** The start-up tick of a node at this time syncs 25 November (UTC) and queues its email. */
const NOW = '2026-11-26T06:00:00Z'
const SUBJECT = '[Analytics Sync] Success - 2026-11-26 06:00'
const OWNER = 'owner@shop.example'
const ADMIN = { email: 'me@shop.example', password: 'a good password' }
/** Settings under which the scheduler syncs daily and the success email goes to OWNER. */
const NOTIFYING = {
  timezone: 'UTC',
  api_enabled: 'true',
  notify_success: 'true',
  store_email: OWNER,
}

/**
 * A fresh database with the store, its settings and an admin, and the test's own connection to
 * it (closed after the test): the nodes find everything set up, as after an operator's setup.
 */
async function prepareDatabase(
  settings: Record<string, unknown>,
): Promise<{ url: string; data: Data }> {
  const url = await testDatabaseUrl()
  const data = await openData({
    dataDir: scope.dataDir('mida-nodes-test-'),
    databaseUrl: url,
    secretKey: undefined,
  })
  scope.defer(() => data.close())
  const clock = new FixedClock(NOW)
  const store = await ensureDefaultStore(data, clock)
  await initialiseSettings(data, store, clock)
  await updateSettings(data, store, settings, clock)
  await createOrResetAdmin(data, ADMIN.email, ADMIN.password, clock)
  return { url, data }
}

/** A real SMTP server on loopback, stopped after the test. */
async function smtpSink(options: Parameters<typeof startSmtpSink>[0] = {}): Promise<SmtpSink> {
  const smtp = await startSmtpSink(options)
  scope.defer(() => smtp.stop())
  return smtp
}

/** `count` `serve` nodes on one database, each in a data directory of its own, started at once. */
function startNodes(count: number, env: Record<string, string>) {
  return Promise.all(
    Array.from({ length: count }, () =>
      scope.startServer(scope.dataDir('mida-node-'), { now: NOW, env }),
    ),
  )
}

type Node = Awaited<ReturnType<typeof startNodes>>[number]

/** Stops nodes as an operator would (SIGTERM: a send in progress finishes first); all exit 0. */
async function stopNodes(nodes: Node[]): Promise<void> {
  for (const node of nodes) node.proc.kill('SIGTERM')
  const codes = await Promise.all(nodes.map((n) => n.exited))
  expect(codes).toEqual(nodes.map(() => 0))
}

/** The outbox, as the assertions compare it. */
function outbox(data: Data) {
  return data.all<{ status: string; attempts: number; lease_owner: string | null }>(
    'SELECT status, attempts, lease_owner FROM outbox ORDER BY id',
  )
}

/** Waits (bounded) until the outbox's one row is sent. */
function sentEmail(data: Data, timeoutMs = 20_000) {
  return waitUntil(
    () => data.get("SELECT 1 FROM outbox WHERE status = 'sent'"),
    'the email to be sent',
    timeoutMs,
    20,
  )
}

/** The sync records, as the assertions compare them. */
function syncRecords(data: Data) {
  return data.all('SELECT status, trigger, period_label FROM sync_records ORDER BY id')
}

/**
 * Runs `statement` in a transaction on a connection of the test's own, left open (holding the
 * locks it took) until the returned function is called; that function resolves once it ended.
 */
async function holdOpen(url: string, statement: string): Promise<() => Promise<void>> {
  const sql = new SQL({ url, max: 1 })
  let release = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  let taken = () => {}
  const held = new Promise<void>((resolve) => (taken = resolve))
  const ended = sql.begin(async (tx) => {
    await tx.unsafe(statement)
    taken()
    await released
  })
  scope.defer(async () => {
    release()
    await ended.catch(() => {})
    await sql.close()
  })
  await Promise.race([held, ended])
  return async () => {
    release()
    await ended
  }
}

/** Waits (bounded) until `count` sessions wait for a lock in statements like these. */
function lockWaiters(data: Data, count: number, statements: string[]) {
  return waitUntil(
    async () => {
      const row = await data.get<{ n: number }>(
        `SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND (${statements.map(() => 'query LIKE ?').join(' OR ')})`,
        ...statements,
      )
      return (row?.n ?? 0) >= count
    },
    `${count} sessions waiting for a lock`,
    20_000,
    20,
  )
}

/** What a node runs first in a write transaction: it takes the write lock (src/db/postgres). */
const TAKE_WRITE_LOCK = `SELECT pg_advisory_xact_lock(${WRITE_LOCK})`

const SYNCED_ONCE = [{ status: 'success', trigger: 'scheduler', period_label: '2026-11-25' }]

describePostgresOnly('three serve nodes on one database (PostgreSQL only)', () => {
  test('(PostgreSQL only) the due period is synced exactly once and its email sent exactly once', async () => {
    const smtp = await smtpSink()
    const { url, data } = await prepareDatabase(NOTIFYING)
    const env = { MIDA_DATABASE_URL: url, MIDA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}` }
    // Each node's scheduler ticks at start-up; the three find the same period due.
    const nodes = await startNodes(3, env)
    await sentEmail(data)
    await stopNodes(nodes)

    expect(await syncRecords(data)).toEqual(SYNCED_ONCE)
    const claims = await data.all<{ owner: string; attempts: number; done: number }>(
      'SELECT owner, attempts, done_at IS NOT NULL AS done FROM sync_claims',
    )
    expect(claims).toEqual([{ owner: expect.any(String), attempts: 1, done: 1 }])
    // The claim was one of the three nodes'.
    expect(nodes.filter((n) => claims[0]?.owner.includes(`:${n.pid}:`))).toHaveLength(1)
    expect(await outbox(data)).toEqual([{ status: 'sent', attempts: 1, lease_owner: null }])
    expect(smtp.messages.map((m) => [m.subject, m.to])).toEqual([[SUBJECT, [OWNER]]])
  })

  test('(PostgreSQL only) three schedulers, each on a pool of its own, whose claims arrive at the same moment: one syncs', async () => {
    const { url, data } = await prepareDatabase(NOTIFYING)
    const schedulers = await Promise.all(
      ['node-1', 'node-2', 'node-3'].map(async (owner) => {
        const own = await openData({
          dataDir: scope.dataDir('mida-nodes-test-'),
          databaseUrl: url,
          secretKey: undefined,
        })
        scope.defer(() => own.close())
        return new Scheduler({ data: own, clock: new FixedClock(NOW), owner })
      }),
    )
    // The test holds the write lock while the three tick, so their claims wait for it together.
    const release = await holdOpen(url, TAKE_WRITE_LOCK)
    const ticks = Promise.all(schedulers.map((s) => s.tick()))
    await lockWaiters(data, 3, [TAKE_WRITE_LOCK])
    await release()
    const results = (await ticks).map((outcomes) => outcomes.map((o) => o.result))
    // One ran the sync; the other two found it claimed (busy) or, once it was saved, done.
    expect(results.filter(([r]) => r === 'synced')).toHaveLength(1)
    for (const outcomes of results) {
      expect(outcomes).toHaveLength(1)
      expect(['synced', 'busy', 'done']).toContain(outcomes[0] ?? '')
    }

    expect(await syncRecords(data)).toEqual(SYNCED_ONCE)
    const owner = schedulers[results.findIndex(([r]) => r === 'synced')]?.owner
    expect(
      await data.all('SELECT owner, attempts, done_at IS NOT NULL AS done FROM sync_claims'),
    ).toEqual([{ owner, attempts: 1, done: 1 }])
    expect(await outbox(data)).toEqual([{ status: 'pending', attempts: 0, lease_owner: null }])
  })

  test('(PostgreSQL only) three senders that find one due email at the same moment: one takes it, it is sent once', async () => {
    const smtp = await smtpSink()
    const { url, data } = await prepareDatabase(NOTIFYING)
    // The period is synced and its email queued already; a first attempt failed, and the retry
    // is due in 10 minutes.
    const store = await ensureDefaultStore(data, new FixedClock(NOW))
    await syncPeriod(
      data,
      store,
      { frequency: 'daily', trigger: 'scheduler', strictFrequency: false },
      new FixedClock(NOW),
    )
    await data.run(
      "UPDATE outbox SET attempts = 1, last_error = 'Connection refused', next_attempt_at = ?",
      Date.parse(NOW) + 10 * 60_000,
    )
    const env = {
      MIDA_DATABASE_URL: url,
      MIDA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      MIDA_TEST_JUMP_MS: String(10 * 60_000),
    }
    const nodes = await startNodes(3, env)

    // Another session holds the row locked while the retry falls due on every node (their
    // clocks move 10 minutes on): each node's sender meets the row at once, sees it due and
    // waits for the lock (or, leasing under the write lock, one waits for the row and the other
    // nodes' writes wait behind it).
    const release = await holdOpen(url, 'SELECT id FROM outbox FOR UPDATE')
    for (const node of nodes) node.proc.kill('SIGUSR2')
    await lockWaiters(data, 3, ['UPDATE outbox SET lease_owner%', TAKE_WRITE_LOCK])
    await release()
    await sentEmail(data)
    await stopNodes(nodes)

    expect(await outbox(data)).toEqual([{ status: 'sent', attempts: 2, lease_owner: null }])
    expect(smtp.messages.map((m) => [m.subject, m.to])).toEqual([[SUBJECT, [OWNER]]])
  })

  test('(PostgreSQL only) a node killed with SIGKILL mid-send: another sends the email once its lease expires, exactly once', async () => {
    // The first message's DATA is swallowed and never answered: its sender is stuck mid-send.
    let stalls = 0
    const smtp = await smtpSink({ stallData: () => ++stalls === 1 })
    const { url, data } = await prepareDatabase(NOTIFYING)
    const env = {
      MIDA_DATABASE_URL: url,
      MIDA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      // SIGUSR2 moves a node's clock 3 minutes on: past the sender's 2-minute lease.
      MIDA_TEST_JUMP_MS: String(3 * 60_000),
    }
    const nodes = await startNodes(3, env)
    await waitUntil(() => stalls >= 1, 'the first send to reach DATA', 20_000, 5)
    const [leased] = await outbox(data)
    const sender = nodes.find((n) => leased?.lease_owner?.includes(`:${n.pid}:`))
    if (!sender) throw new Error(`no node holds the lease: ${JSON.stringify(leased)}`)
    await killHard(sender)
    expect(sender.proc.signalCode).toBe('SIGKILL')

    // Nothing delivered, the row still pending under the dead node's lease.
    expect(await outbox(data)).toEqual([
      { status: 'pending', attempts: 0, lease_owner: leased?.lease_owner ?? '' },
    ])
    expect(smtp.messages).toEqual([])

    // Later, on the two nodes left, the lease has expired: one of them sends the email.
    const others = nodes.filter((n) => n !== sender)
    for (const node of others) node.proc.kill('SIGUSR2')
    await sentEmail(data)
    await stopNodes(others)

    expect(await syncRecords(data)).toEqual(SYNCED_ONCE)
    expect(await outbox(data)).toEqual([{ status: 'sent', attempts: 1, lease_owner: null }])
    const response = await data.get<{ smtp_response: string }>('SELECT smtp_response FROM outbox')
    expect(response?.smtp_response).toStartWith('250')
    // Two DATA phases reached the server: the dead node's, never answered, and the one delivered.
    expect(stalls).toBe(2)
    expect(smtp.messages.map((m) => [m.subject, m.to])).toEqual([[SUBJECT, [OWNER]]])
  })

  test('(PostgreSQL only) a sender whose batch outlived its lease leaves alone the emails another node took over: each sent once', async () => {
    // The first message's DATA is stalled until the test answers it (with a refusal).
    let stalls = 0
    const smtp = await smtpSink({ stallData: () => ++stalls === 1 })
    const { url, data } = await prepareDatabase(NOTIFYING)
    // Two emails wait: 24 November's (synced at 12:00 on the 25th) and 25 November's.
    const store = await ensureDefaultStore(data, new FixedClock(NOW))
    const queue = (date: string, at: string) =>
      syncPeriod(
        data,
        store,
        {
          frequency: 'daily',
          date: Temporal.PlainDate.from(date),
          trigger: 'scheduler',
          strictFrequency: false,
        },
        new FixedClock(at),
      )
    await queue('2026-11-24', '2026-11-25T12:00:00Z')
    await queue('2026-11-25', NOW)
    const first = '[Analytics Sync] Success - 2026-11-25 12:00'
    const env = {
      MIDA_DATABASE_URL: url,
      MIDA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      MIDA_TEST_JUMP_MS: String(3 * 60_000),
    }
    // One node's sender leases both in one batch and is stuck on the first.
    const nodes = await startNodes(2, env)
    await waitUntil(() => stalls >= 1, 'the first send to reach DATA', 20_000, 5)
    const leases = await data.all<{ lease_owner: string }>(
      'SELECT lease_owner FROM outbox ORDER BY id',
    )
    const owner = leases[0]?.lease_owner ?? ''
    expect(nodes.filter((n) => owner.includes(`:${n.pid}:`))).toHaveLength(1)
    expect(leases).toEqual([{ lease_owner: owner }, { lease_owner: owner }])

    // Three minutes later the batch's lease has run out: the other node takes both and sends them.
    for (const node of nodes) node.proc.kill('SIGUSR2')
    await waitUntil(
      async () =>
        (await data.get<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE status = 'sent'"))
          ?.n === 2,
      'both emails to be sent',
      20_000,
      20,
    )
    // The stuck send is refused at last; that sender goes on to the second email of its batch,
    // which is no longer its own.
    smtp.answerStalled({ code: 451, message: 'Try again later' })
    await stopNodes(nodes)

    expect(await data.all('SELECT status, attempts, lease_owner FROM outbox ORDER BY id')).toEqual([
      { status: 'sent', attempts: 1, lease_owner: null },
      { status: 'sent', attempts: 1, lease_owner: null },
    ])
    expect(smtp.messages.map((m) => m.subject)).toEqual([first, SUBJECT])
    expect(stalls).toBe(3)
  })

  test('(PostgreSQL only) a login on one node holds on every node, and a logout on one ends it on all', async () => {
    const { url } = await prepareDatabase({ timezone: 'UTC' })
    const [one, two, three] = await startNodes(3, { MIDA_DATABASE_URL: url })
    if (!one || !two || !three) throw new Error('three nodes')

    // Logs in on node 1 through the form (its CSRF cookie and field).
    const page = await fetch(`${one.url}/login`)
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? ''
    const login = await fetch(`${one.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: page.headers.get('set-cookie')?.split(';')[0] ?? '' },
      body: new URLSearchParams({ _csrf: csrf, email: ADMIN.email, password: ADMIN.password }),
    })
    expect(login.status).toBe(303)
    const session = login.headers
      .getSetCookie()
      .find((c) => c.startsWith('mida_session='))
      ?.split(';')[0]
    expect(session).toMatch(/^mida_session=[0-9A-Za-z]{43}$/)
    const cookie = session ?? ''

    // Node 2 knows the session: the settings page, with the session's CSRF token.
    const settings = await fetch(`${two.url}/settings`, { redirect: 'manual', headers: { cookie } })
    expect(settings.status).toBe(200)
    const token = /X-CSRF-Token&#34;:&#34;([0-9A-Za-z]+)&#34;/.exec(await settings.text())?.[1]
    expect(token).toMatch(/^[0-9A-Za-z]{32}$/)

    // Node 3 takes that token for a state change: the logout, which ends the session everywhere.
    const logout = await fetch(`${three.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'x-csrf-token': token ?? '' },
    })
    expect(logout.status).toBe(303)
    expect(logout.headers.get('location')).toBe('/login?logged_out=1')
    for (const node of [one, two, three]) {
      const after = await fetch(`${node.url}/settings`, { redirect: 'manual', headers: { cookie } })
      expect(after.status).toBe(303)
      expect(after.headers.get('location')).toBe('/login?next=%2Fsettings')
    }
    await stopNodes([one, two, three])
  })

  test('(PostgreSQL only) an API key issued or revoked, or the API switched off, by another process: every node answers so at once', async () => {
    const { url, data } = await prepareDatabase({ timezone: 'UTC', api_enabled: 'true' })
    const nodes = await startNodes(3, { MIDA_DATABASE_URL: url })
    const clock = new FixedClock(NOW)
    const store = await ensureDefaultStore(data, clock)
    // Issued by another process (here the test, as the CLI would): every node takes it.
    const key = await createApiKey(data, store, 'reporting', 'export', clock)
    const sync = (node: Node) =>
      fetch(`${node.url}${SYNC_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}` },
      })
    const statuses = async () => Promise.all(nodes.map(async (n) => (await sync(n)).status))
    expect(await statuses()).toEqual([200, 200, 200])
    // Every node now has the key and the settings in its read cache; changes made elsewhere
    // reach each at its next request.
    await updateSettings(data, store, { api_enabled: false }, clock)
    expect(await statuses()).toEqual([403, 403, 403])
    await updateSettings(data, store, { api_enabled: true }, clock)
    expect(await statuses()).toEqual([200, 200, 200])
    await revokeApiKey(data, store, 'reporting', clock)
    expect(await statuses()).toEqual([401, 401, 401])
    await stopNodes(nodes)
  })
})
