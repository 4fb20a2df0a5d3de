// The outbox sender's leases between several senders (processes, or nodes on one PostgreSQL
// database): an email is sent by the sender holding its lease, and by no other.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { FixedClock } from '../../src/domain/clock.ts'
import { configuredMailer } from '../../src/domain/mailer.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { createStore } from '../../src/domain/stores.ts'
import { syncPeriod } from '../../src/domain/sync.ts'
import { waitUntil } from '../reliability/child.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, type TestApp } from '../utils.ts'

const NOW = '2026-11-26T06:00:00Z'

let t: TestApp
let sink: SmtpSink
let stalls = 0

beforeEach(async () => {
  stalls = 0
  // The first message's DATA is stalled until the test answers it.
  sink = await startSmtpSink({ stallData: () => ++stalls === 1 })
  t = await createTestApp({
    now: NOW,
    settings: {
      timezone: 'UTC',
      store_email: 'owner@shop.example',
      notify_success: true,
      smtp_host: '127.0.0.1',
      smtp_port: sink.port,
      smtp_security: 'none',
      smtp_from: 'mida@shop.example',
    },
  })
})

afterEach(async () => {
  t.close()
  await sink.stop()
})

function sender(owner: string) {
  return new OutboxSender({
    data: t.data,
    clock: t.clock,
    mailer: configuredMailer(t.config, t.data),
    baseUrl: 'https://stats.shop.example',
    owner,
  })
}

/** Queues the success email of one day's scheduled sync, synced at `at`. */
async function queue(date: string, at: string): Promise<void> {
  const request = {
    frequency: 'daily' as const,
    date: Temporal.PlainDate.from(date),
    trigger: 'scheduler' as const,
    strictFrequency: false,
  }
  await syncPeriod(t.data, t.store, request, new FixedClock(at))
}

describe('leases between senders', () => {
  test('a sender whose batch outlived its lease sends none of the emails another sender took over', async () => {
    await queue('2026-11-24', '2026-11-25T12:00:00Z')
    await queue('2026-11-25', NOW)
    // A leases both in one batch and is stuck on the first (a server that answers late).
    const a = sender('sender-a')
    const running = a.runOnce()
    await waitUntil(() => stalls === 1, 'the first send to reach DATA')
    expect(await t.data.all('SELECT lease_owner FROM outbox ORDER BY id')).toEqual([
      { lease_owner: 'sender-a' },
      { lease_owner: 'sender-a' },
    ])

    // Three minutes on, past A's 2-minute lease, B takes both over and sends them.
    t.clock.advance({ minutes: 3 })
    expect(await sender('sender-b').runOnce()).toEqual({
      sent: 2,
      failed: 0,
      unsendable: 0,
      expired: 0,
    })
    // A's stuck send is refused at last; the second email of its batch is no longer A's.
    sink.answerStalled({ code: 451, message: 'Try again later' })
    expect(await running).toEqual({ sent: 0, failed: 1, unsendable: 0, expired: 0 })

    expect(sink.messages.map((m) => m.subject)).toEqual([
      '[Analytics Sync] Success - 2026-11-25 12:00',
      '[Analytics Sync] Success - 2026-11-26 06:00',
    ])
    expect(
      await t.data.all('SELECT status, attempts, lease_owner FROM outbox ORDER BY id'),
    ).toEqual([
      { status: 'sent', attempts: 1, lease_owner: null },
      { status: 'sent', attempts: 1, lease_owner: null },
    ])
  })
})

describe('a store whose SMTP server fails', () => {
  test("its other emails wait for the next run, tried once each run; another store's go now", async () => {
    stalls = 1 // the sink stalls no message in this test
    // The default store's server: a port nothing listens on (the connection is refused).
    const closed = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const deadPort = closed.port
    closed.stop(true)
    await updateSettings(t.data, t.store, { smtp_port: deadPort }, t.clock)
    for (const [date, at] of [
      ['2026-11-24', '2026-11-25T12:00:00Z'],
      ['2026-11-25', NOW],
    ] as const)
      await queue(date, at)
    const other = await createStore(t.data, { slug: 'other', timezone: 'UTC' }, t.clock, {
      actor: 'cli',
      address: null,
    })
    await updateSettings(
      t.data,
      other,
      {
        store_email: 'other@shop.example',
        notify_success: true,
        smtp_host: '127.0.0.1',
        smtp_port: sink.port,
        smtp_security: 'none',
        smtp_from: 'mida@other.example',
      },
      t.clock,
    )
    await syncPeriod(
      t.data,
      other,
      {
        frequency: 'daily',
        date: Temporal.PlainDate.from('2026-11-25'),
        trigger: 'scheduler',
        strictFrequency: false,
      },
      t.clock,
    )
    const report = await sender('sender-a').runOnce()
    expect(report).toEqual({ sent: 1, failed: 1, unsendable: 0, expired: 0 })
    expect(sink.messages.map((m) => m.to)).toEqual([['other@shop.example']])
    // The first of the failing store's emails was tried; the other waits, untried and due.
    const rows = await t.data.all<{ attempts: number; last_error: string; lease_owner: null }>(
      'SELECT attempts, last_error, lease_owner FROM outbox WHERE store_id = ? ORDER BY id',
      t.storeId,
    )
    expect(rows.map((r) => [r.attempts, r.lease_owner])).toEqual([
      [1, null],
      [0, null],
    ])
    expect(rows[1]!.last_error).toBe(
      "not tried yet: this store's SMTP server failed an earlier email of this run",
    )
  })
})
