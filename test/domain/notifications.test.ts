import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { openData } from '../../src/db/open.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import {
  configuredMailer,
  type Mailer,
  type MailMessage,
  smtpMailer,
  smtpTarget,
} from '../../src/domain/mailer.ts'
import {
  NO_RECIPIENT,
  NO_SMTP,
  notificationSubject,
  outboxEntry,
  queueSyncNotification,
  recentOutbox,
} from '../../src/domain/notifications.ts'
import { OutboxSender, retryDelayMs } from '../../src/domain/outbox.ts'
import { periodContaining } from '../../src/domain/periods.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { SyncFailed, syncPeriod } from '../../src/domain/sync.ts'
import { renderNotification } from '../../views/emails/notification.tsx'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, onPostgres, type TestApp } from '../utils.ts'

// 06:00 UTC on 26 Nov 2026 is 01:00 in New York: yesterday (25 Nov) is the period.
const NOW = '2026-11-26T06:00:00Z'
const BASE = {
  timezone: 'America/New_York',
  store_name: 'Acme <Shop>',
  store_email: 'owner@acme.test',
}

let t: TestApp
let sink: SmtpSink

beforeEach(async () => {
  sink = await startSmtpSink()
  t = await createTestApp({ now: NOW, settings: BASE })
})

afterEach(async () => {
  t.close()
  await sink.stop()
})

/** A second connection to the test app's database, as another process would open. */
const reopen = () =>
  openData({ dataDir: t.dir, databaseUrl: t.config.databaseUrl, secretKey: undefined })

/** The engine's message for a missing table (each names it its own way). */
const noSuchTable = (name: string) =>
  onPostgres ? `relation "${name}" does not exist` : `no such table: ${name}`

async function useSink(port = sink.port): Promise<void> {
  await updateSettings(
    t.data,
    t.store,
    { smtp_host: '127.0.0.1', smtp_port: port, smtp_security: 'none', smtp_from: 'mida@acme.test' },
    t.clock,
  )
}

function sender(mailer = configuredMailer(t.config, t.data), clock = t.clock) {
  return new OutboxSender({
    data: t.data,
    clock,
    mailer,
    baseUrl: 'https://stats.acme.test',
    owner: 'test-sender',
  })
}

function sync(trigger: 'api' | 'cli' | 'scheduler' = 'api') {
  return syncPeriod(t.data, t.store, { trigger, strictFrequency: true }, t.clock)
}

async function seedDay(): Promise<void> {
  await writeSessions(
    t.data,
    t.store,
    [
      { id: 's1', visitor_id: 'v1', started_at: '2026-11-25T15:00:00Z', pageviews: 3 },
      { id: 's2', visitor_id: 'v2', started_at: '2026-11-25T16:00:00Z' },
      { id: 's3', visitor_id: 'v1', started_at: '2026-11-25T20:00:00Z' },
    ].map((s) => sessionInput.parse(s)),
    t.clock,
  )
  await writeOrders(
    t.data,
    t.store,
    [
      { id: 'o1', created_at: '2026-11-25T15:30:00Z', total_price: '1200.50', session_id: 's1' },
      { id: 'o2', created_at: '2026-11-25T16:30:00Z', total_price: '99.99' },
    ].map((o) => orderInput.parse(o)),
    t.clock,
  )
}

describe('subject', () => {
  test('is in store time of the sync, to the minute', () => {
    const at = Temporal.Instant.from('2026-11-26T06:00:59.900Z')
    expect(notificationSubject('success', at, 'America/New_York')).toBe(
      '[Analytics Sync] Success - 2026-11-26 01:00',
    )
    expect(notificationSubject('failed', at, 'Europe/Berlin')).toBe(
      '[Analytics Sync] Failed - 2026-11-26 07:00',
    )
    // Past midnight UTC, still the previous evening in New York.
    expect(
      notificationSubject(
        'success',
        Temporal.Instant.from('2026-07-01T02:05:00Z'),
        'America/New_York',
      ),
    ).toBe('[Analytics Sync] Success - 2026-06-30 22:05')
  })
})

describe('queueing with the sync', () => {
  test('queued through the handle of the sync’s transaction: rolled back with it', async () => {
    const settings = await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    const outcome = {
      outcome: 'success' as const,
      frequency: 'daily' as const,
      period: periodContaining(
        Temporal.PlainDate.from('2026-11-25'),
        'daily',
        'America/New_York',
        'monday',
      ),
      syncedAt: t.clock.now(),
      trigger: 'api',
    }
    const rolledBack = t.data.tx(async (q) => {
      expect(await queueSyncNotification(q, t.store, settings, outcome, t.clock)).toBe(true)
      throw new Error('the sync record could not be written')
    })
    await expect(rolledBack).rejects.toThrow('the sync record could not be written')
    expect(await recentOutbox(t.data, t.store)).toEqual([])
    const queued = await t.data.tx(async (q) => [
      await queueSyncNotification(q, t.store, settings, outcome, t.clock),
      await queueSyncNotification(q, t.store, settings, outcome, t.clock),
    ])
    expect(queued).toEqual([true, false])
    expect((await recentOutbox(t.data, t.store)).map((r) => [r.periodLabel, r.recipient])).toEqual([
      ['2026-11-25', 'owner@acme.test'],
    ])
  })

  test('a success email only with notify_success, to the recipient, with the figures', async () => {
    await seedDay()
    await sync()
    expect(await recentOutbox(t.data, t.store)).toEqual([])

    // A new currency makes the stored body stale: this call recomputes and completes a sync.
    await updateSettings(t.data, t.store, { notify_success: true, currency: 'EUR' }, t.clock)
    expect((await sync()).computed).toBe(true)
    const [row] = await recentOutbox(t.data, t.store)
    expect(row).toMatchObject({
      outcome: 'success',
      frequency: 'daily',
      periodLabel: '2026-11-25',
      recipient: 'owner@acme.test',
      subject: '[Analytics Sync] Success - 2026-11-26 01:00',
      status: 'pending',
      attempts: 0,
      lastError: null,
    })
  })

  test('the recipient setting wins over the store email; none at all is not sendable', async () => {
    await updateSettings(
      t.data,
      t.store,
      { notify_success: true, notify_recipient: 'reports@acme.test' },
      t.clock,
    )
    await sync()
    expect((await recentOutbox(t.data, t.store))[0]?.recipient).toBe('reports@acme.test')

    await updateSettings(t.data, t.store, { notify_recipient: '', store_email: '' }, t.clock)
    t.clock.set('2026-11-27T06:00:00Z') // a day later: the 26th is the last completed period
    await sync()
    const [row] = await recentOutbox(t.data, t.store)
    expect(row).toMatchObject({
      periodLabel: '2026-11-26',
      recipient: '',
      status: 'unsendable',
      lastError: NO_RECIPIENT,
    })
  })

  test('one email per period and outcome, whatever triggered the sync', async () => {
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync('api')
    await sync('api')
    await sync('cli')
    // New data makes the next call recompute: still no second email for the period.
    await seedDay()
    expect((await sync('scheduler')).computed).toBe(true)
    expect((await recentOutbox(t.data, t.store)).map((r) => r.periodLabel)).toEqual(['2026-11-25'])
  })

  test('a sync that throws is recorded as failed and queues one failure email', async () => {
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    await expect(sync()).rejects.toThrow(SyncFailed)
    await expect(sync()).rejects.toThrow(SyncFailed)
    const record = await t.data.all('SELECT status, error, trigger FROM sync_records')
    expect(record).toEqual([{ status: 'failed', error: noSuchTable('sessions'), trigger: 'api' }])
    const rows = await recentOutbox(t.data, t.store)
    expect(rows.map((r) => [r.outcome, r.subject])).toEqual([
      ['failed', '[Analytics Sync] Failed - 2026-11-26 01:00'],
    ])
  })

  test('no failure email with notify_failure off', async () => {
    await updateSettings(t.data, t.store, { notify_failure: false }, t.clock)
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    await expect(sync()).rejects.toThrow(SyncFailed)
    expect(await recentOutbox(t.data, t.store)).toEqual([])
  })
})

describe('rendering', () => {
  test('success: text and HTML with timestamp, status, period, figures and the settings link', async () => {
    await seedDay()
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync('scheduler')
    const email = renderNotification(
      JSON.parse(((await t.data.get('SELECT payload FROM outbox')) as { payload: string }).payload),
      'https://stats.acme.test/',
    )
    expect(email.subject).toBe('[Analytics Sync] Success - 2026-11-26 01:00')
    expect(email.text).toBe(
      [
        'The daily analytics sync of 2026-11-25 succeeded.',
        '',
        'Store:             Acme <Shop>',
        'Status:            Success',
        'Synced at:         2026-11-26 01:00 (America/New_York)',
        'Period:            2026-11-25 (daily, 2026-11-25 00:00 to 2026-11-26 00:00)',
        'Triggered by:      scheduler',
        'Visitors:          2',
        'Sessions:          3',
        'Successful orders: 2',
        'Revenue:           $1,300.49',
        '',
        'The figures are what POST /apiv1/analytics/sync returns for this period.',
        '',
        'Settings: https://stats.acme.test/stores/default/settings',
        '',
        '-- mida-export',
        '',
      ].join('\n'),
    )
    expect(email.html).toContain('Acme &lt;Shop&gt;')
    expect(email.html).not.toContain('Acme <Shop>')
    expect(email.html).toContain('<a href="https://stats.acme.test/stores/default/settings">')
    expect(email.html).toContain('$1,300.49')
  })

  test('failure: the error instead of figures', async () => {
    await t.data.run('ALTER TABLE orders RENAME TO orders_gone')
    await expect(sync()).rejects.toThrow(SyncFailed)
    const payload = JSON.parse(
      ((await t.data.get('SELECT payload FROM outbox')) as { payload: string }).payload,
    )
    const email = renderNotification(payload, 'http://127.0.0.1:8080')
    expect(email.subject).toBe('[Analytics Sync] Failed - 2026-11-26 01:00')
    expect(email.text).toContain('Status:       Failed\n')
    expect(email.text).toContain(`Error:        ${noSuchTable('orders')}\n`)
    expect(email.text).not.toContain('Revenue')
    expect(email.html).toContain(Bun.escapeHTML(noSuchTable('orders')))
  })
})

describe('mailer configuration', () => {
  test('MIDA_SMTP_URL wins over the saved settings and MIDA_MAIL_FROM is the sender', async () => {
    await useSink()
    const env = await createTestApp({
      env: {
        MIDA_SMTP_URL: 'smtps://me%40x.test:p%40ss@mail.example:2465',
        MIDA_MAIL_FROM: 'a@b.test',
      },
    })
    try {
      expect(smtpTarget(env.config, await readSettings(t.data, t.store))).toMatchObject({
        source: 'env',
        host: 'mail.example',
        port: 2465,
        security: 'tls',
        user: 'me@x.test',
        password: 'p@ss',
        from: 'a@b.test',
      })
    } finally {
      env.close()
    }
    expect(smtpTarget(t.config, await readSettings(t.data, t.store))).toEqual({
      source: 'settings',
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      user: '',
      password: '',
      from: 'mida@acme.test',
    })
    await updateSettings(t.data, t.store, { smtp_port: '', smtp_security: 'starttls' }, t.clock)
    expect(smtpTarget(t.config, await readSettings(t.data, t.store))?.port).toBe(587)
    await updateSettings(t.data, t.store, { smtp_host: '' }, t.clock)
    expect(smtpTarget(t.config, await readSettings(t.data, t.store))).toBeNull()
  })

  test('authenticates and reports the server answer; a refusal throws with the reply', async () => {
    const authed = await startSmtpSink({ auth: { user: 'u', pass: 's3cret' } })
    try {
      const target = {
        source: 'settings' as const,
        host: '127.0.0.1',
        port: authed.port,
        security: 'none' as const,
        user: 'u',
        password: 's3cret',
        from: 'mida@acme.test',
      }
      const message = { to: 'x@acme.test', subject: 'Hi', text: 'hello', html: '<p>hello</p>' }
      const receipt = await smtpMailer(target).send(message)
      expect(receipt.response).toMatch(/^250 /)
      expect(authed.messages.map((m) => [m.from, m.to, m.subject])).toEqual([
        ['mida@acme.test', ['x@acme.test'], 'Hi'],
      ])
      await expect(smtpMailer({ ...target, password: 'wrong' }).send(message)).rejects.toThrow(
        /535 Authentication failed/,
      )
      authed.refuse({ code: 550, message: 'No such user here' })
      await expect(smtpMailer(target).send(message)).rejects.toThrow(/550 No such user here/)
    } finally {
      await authed.stop()
    }
  })
})

describe('the sender', () => {
  test('delivers a queued email once, with subject, recipient and both bodies', async () => {
    await useSink()
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync()
    expect(await sender().runOnce()).toEqual({ sent: 1, failed: 0, unsendable: 0, expired: 0 })
    expect(await sender().runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 0, expired: 0 })
    expect(sink.messages).toHaveLength(1)
    const [mail] = sink.messages
    expect(mail?.from).toBe('mida@acme.test')
    expect(mail?.to).toEqual(['owner@acme.test'])
    expect(mail?.subject).toBe('[Analytics Sync] Success - 2026-11-26 01:00')
    expect(mail?.headers.to).toBe('owner@acme.test')
    expect(mail?.headers['content-type']).toStartWith('multipart/alternative')
    expect(mail?.raw).toContain('text/plain')
    expect(mail?.raw).toContain('text/html')
    const row = (await recentOutbox(t.data, t.store))[0]
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lastError: null })
    expect(row?.smtpResponse).toMatch(/^250 /)
    expect(row?.sentAt).toBe(t.clock.now().epochMilliseconds)
  })

  test('a refusing server: retried with backoff, then delivered exactly once', async () => {
    await useSink()
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    await expect(sync()).rejects.toThrow(SyncFailed)
    sink.refuse({ code: 451, message: 'Try again later' })
    const s = sender()
    const created = t.clock.now().epochMilliseconds

    expect((await s.runOnce()).failed).toBe(1)
    let row = (await recentOutbox(t.data, t.store))[0]!
    expect(row.status).toBe('pending')
    expect(row.attempts).toBe(1)
    expect(row.lastError).toContain('451 Try again later')
    expect(row.nextAttemptAt).toBe(created + 10_000)

    // Not due yet: nothing happens.
    t.clock.advance({ seconds: 9 })
    expect(await s.runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 0, expired: 0 })

    t.clock.advance({ seconds: 1 })
    expect((await s.runOnce()).failed).toBe(1)
    row = (await recentOutbox(t.data, t.store))[0]!
    expect(row.attempts).toBe(2)
    expect(row.nextAttemptAt).toBe(created + 10_000 + 20_000)

    sink.refuse(null)
    t.clock.advance({ seconds: 20 })
    expect((await s.runOnce()).sent).toBe(1)
    t.clock.advance({ hours: 1 })
    expect((await s.runOnce()).sent).toBe(0)
    expect(sink.messages.map((m) => [m.subject, m.to])).toEqual([
      ['[Analytics Sync] Failed - 2026-11-26 01:00', ['owner@acme.test']],
    ])
    expect((await recentOutbox(t.data, t.store))[0]).toMatchObject({
      status: 'sent',
      attempts: 3,
      lastError: null,
    })
  })

  test('an SMTP server that is down for a while, then back on the same port', async () => {
    await useSink()
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync()
    const port = sink.port
    await sink.stop()
    const s = sender()
    expect((await s.runOnce()).failed).toBe(1)
    expect((await recentOutbox(t.data, t.store))[0]?.lastError).toContain('ECONNREFUSED')
    t.clock.advance({ seconds: 10 })
    expect((await s.runOnce()).failed).toBe(1)
    sink = await startSmtpSink({ port })
    t.clock.advance({ seconds: 20 })
    expect((await s.runOnce()).sent).toBe(1)
    expect(sink.messages).toHaveLength(1)
  })

  test('backoff doubles from 10 s to at most 10 minutes; given up after 24 hours', async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(retryDelayMs)).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000, 600_000,
    ])
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync()
    const failing: Mailer = {
      send: async () => {
        throw new Error('421 Service not available')
      },
    }
    const s = sender(async () => failing)
    const created = t.clock.now().epochMilliseconds
    let attempts = 0
    while ((await recentOutbox(t.data, t.store))[0]?.status === 'pending') {
      const row = (await recentOutbox(t.data, t.store))[0]!
      t.clock.set(Temporal.Instant.fromEpochMilliseconds(Math.max(row.nextAttemptAt, created)))
      attempts += (await s.runOnce()).failed
    }
    const row = (await recentOutbox(t.data, t.store))[0]!
    expect(row.status).toBe('failed')
    expect(row.attempts).toBe(attempts)
    // 10+20+…+320 s, then every 10 minutes until the 24 hours are used up.
    expect(attempts).toBe(7 + Math.floor((86_400_000 - 630_000) / 600_000))
    expect(row.lastError).toBe('421 Service not available')
    expect(t.clock.now().epochMilliseconds - created).toBeLessThan(86_400_000)
  })

  test('without SMTP an email waits as not sendable, and goes out once SMTP is set', async () => {
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync()
    const s = sender()
    expect(await s.runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 1, expired: 0 })
    expect((await recentOutbox(t.data, t.store))[0]).toMatchObject({
      status: 'pending',
      attempts: 0,
      lastError: NO_SMTP,
    })
    t.clock.advance({ hours: 2 })
    await useSink()
    expect((await s.runOnce()).sent).toBe(1)
    expect(sink.messages).toHaveLength(1)
  })

  test('an email not sendable for 24 hours is given up as failed', async () => {
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync()
    await sender().runOnce()
    t.clock.advance({ hours: 24 })
    await useSink()
    expect(await sender().runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 0, expired: 1 })
    expect((await recentOutbox(t.data, t.store))[0]).toMatchObject({
      status: 'failed',
      lastError: NO_SMTP,
    })
    expect(sink.messages).toHaveLength(0)
  })

  test('a restart picks up where it left off: a dead sender’s lease expires, no duplicates', async () => {
    await useSink()
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync()
    // A sender leased the row and died before sending.
    await t.data.run(
      "UPDATE outbox SET lease_owner = 'dead', lease_until = ?",
      t.clock.now().epochMilliseconds + 120_000,
    )
    const reopenedData = await reopen()
    try {
      const restarted = new OutboxSender({
        data: reopenedData,
        clock: t.clock,
        mailer: configuredMailer(t.config, reopenedData),
        baseUrl: 'http://x.test',
      })
      expect((await restarted.runOnce()).sent).toBe(0)
      t.clock.advance({ minutes: 2 })
      expect((await restarted.runOnce()).sent).toBe(1)
      expect((await restarted.runOnce()).sent).toBe(0)
    } finally {
      await reopenedData.close()
    }
    expect(sink.messages).toHaveLength(1)
  })

  test('two senders on one data directory deliver each email once', async () => {
    await useSink()
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    // Scheduled syncs of five days (an API call for an older day would be a backfill: no email).
    for (const date of ['2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25']) {
      await syncPeriod(
        t.data,
        t.store,
        { trigger: 'scheduler', strictFrequency: false, date: Temporal.PlainDate.from(date) },
        t.clock,
      )
    }
    const otherData = await reopen()
    try {
      const a = sender()
      const b = new OutboxSender({
        data: otherData,
        clock: t.clock,
        mailer: configuredMailer(t.config, otherData),
        baseUrl: 'http://x.test',
        owner: 'other',
      })
      const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()])
      expect(ra.sent + rb.sent).toBe(5)
    } finally {
      await otherData.close()
    }
    expect(sink.messages).toHaveLength(5)
    expect(
      (await recentOutbox(t.data, t.store)).map((r) => [r.periodLabel, r.status, r.attempts]),
    ).toEqual(
      ['2026-11-25', '2026-11-24', '2026-11-23', '2026-11-22', '2026-11-21'].map((d) => [
        d,
        'sent',
        1,
      ]),
    )
  })

  test('an injected mailer receives exactly what a real one would send', async () => {
    const sent: MailMessage[] = []
    const recorder: Mailer = {
      send: async (m) => {
        sent.push(m)
        return { response: '250 recorded', messageId: '<1@test>' }
      },
    }
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await sync()
    await sender(async () => recorder).runOnce()
    expect(sent.map((m) => [m.to, m.subject])).toEqual([
      ['owner@acme.test', '[Analytics Sync] Success - 2026-11-26 01:00'],
    ])
    expect((await outboxEntry(t.data, 1))?.smtpResponse).toBe('250 recorded')
  })
})
