// The outbox sender's leases between several senders (processes, or nodes on one PostgreSQL
// database): an email is sent by the sender holding its lease, and by no other.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { FixedClock } from '../../src/domain/clock.ts'
import { configuredMailer } from '../../src/domain/mailer.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
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
