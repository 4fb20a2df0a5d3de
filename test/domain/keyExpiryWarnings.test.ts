// The email that warns of a key about to expire: queued by the scheduler's tick once per key and
// expiry (across ticks, schedulers and stores), only when the store's notifications are on, never
// for a revoked key, and sent through a real SMTP server with its store's details.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { DueRow } from '../../src/db/outbox.ts'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { queueKeyExpiryWarnings } from '../../src/domain/keyExpiry.ts'
import { createApiKey, regenerateApiKey, revokeApiKey } from '../../src/domain/keys.ts'
import { configuredMailer } from '../../src/domain/mailer.ts'
import { outboxEmail } from '../../src/domain/notifications.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
import { Scheduler } from '../../src/domain/scheduler.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { createStore, type Store } from '../../src/domain/stores.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, type TestApp } from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York.
const NOW = '2026-11-26T06:00:00Z'
const DAY = 86_400_000
const BASE_URL = 'https://stats.shop.example'

let t: TestApp
let sink: SmtpSink

beforeEach(async () => {
  sink = await startSmtpSink()
  t = await createTestApp({
    now: NOW,
    settings: {
      store_name: 'Corner Shop',
      timezone: 'America/New_York',
      store_email: 'owner@shop.example',
      // notify_failure is on by default: the store wants notifications.
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

const scheduler = (owner: string) => new Scheduler({ data: t.data, clock: t.clock, owner })

const sender = () =>
  new OutboxSender({
    data: t.data,
    clock: t.clock,
    mailer: configuredMailer(t.config, t.data),
    baseUrl: BASE_URL,
  })

const warnings = () =>
  t.data.all<{
    store_id: number
    dedupe: string
    recipient: string
    subject: string
    status: string
  }>(
    `SELECT store_id, dedupe, recipient, subject, status FROM outbox WHERE kind = 'key_expiry'
     ORDER BY store_id, id`,
  )

/** A header as read: its RFC 2047 encoded words (`=?UTF-8?Q?…?=`) decoded. */
function decodeWords(header: string): string {
  return header
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?Q\?([^?]*)\?=/gi, (_, text: string) =>
      Buffer.from(
        text
          .replace(/_/g, ' ')
          .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) =>
            String.fromCharCode(Number.parseInt(hex, 16)),
          ),
        'latin1',
      ).toString('utf8'),
    )
}

/** A key of the store expiring `ms` from now. */
const expiring = (name: string, ms: number, store: Store = t.store, scope = 'export') =>
  createApiKey(t.data, store, name, scope, t.clock, undefined, {
    expiresAt: t.clock.now().epochMilliseconds + ms,
  })

describe('queued once', () => {
  test('across repeated ticks and two schedulers ticking at once; sent once through SMTP', async () => {
    const key = await expiring('Looker', 5 * DAY)
    const expiresAt = Date.parse(NOW) + 5 * DAY
    const [a, b] = [scheduler('node-a'), scheduler('node-b')]
    await Promise.all([a.tick(), b.tick()])
    await a.tick()
    t.clock.advance({ seconds: 30 })
    await Promise.all([b.tick(), a.tick()])
    expect(await warnings()).toEqual([
      {
        store_id: t.storeId,
        dedupe: `email:key_expiry:${key.key.id}:${expiresAt}`,
        recipient: 'owner@shop.example',
        subject: '[Analytics Sync] API key "Looker" expires 2026-12-01 01:00',
        status: 'pending',
      },
    ])
    expect(await sender().runOnce()).toEqual({ sent: 1, failed: 0, unsendable: 0, expired: 0 })
    const [mail] = await sink.waitFor(1)
    expect([mail!.to, decodeWords(mail!.subject)]).toEqual([
      ['owner@shop.example'],
      '[Analytics Sync] API key "Looker" expires 2026-12-01 01:00',
    ])
    expect(mail!.raw).not.toContain(key.secret)
    // Sent, and still not queued again: the next days' ticks find the dedupe taken.
    t.clock.advance({ hours: 48 })
    await a.tick()
    await b.tick()
    expect((await warnings()).map((w) => w.status)).toEqual(['sent'])
    expect(await sender().runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 0, expired: 0 })
    expect(sink.messages.length).toBe(1)
  })

  test('a key is warned about once it is within 7 days of its expiry, not before', async () => {
    await expiring('Later', 7 * DAY + 60_000)
    expect(
      await queueKeyExpiryWarnings(t.data, t.store, await readSettings(t.data, t.store), t.clock),
    ).toBe(0)
    await scheduler('a').tick()
    expect(await warnings()).toEqual([])
    t.clock.advance({ minutes: 1 })
    await scheduler('a').tick()
    expect((await warnings()).map((w) => w.subject)).toEqual([
      '[Analytics Sync] API key "Later" expires 2026-12-03 01:01',
    ])
  })

  test('every store is warned of its own keys, at its own recipient, with its own link', async () => {
    const outlet = await createStore(t.data, { slug: 'outlet' }, t.clock, {
      actor: 'cli',
      address: null,
    })
    await updateSettings(
      t.data,
      outlet,
      {
        store_name: 'Outlet',
        timezone: 'Europe/Berlin',
        store_email: 'outlet@shop.example',
        notify_recipient: 'ops@outlet.example',
      },
      t.clock,
    )
    await expiring('Feed', 2 * DAY, outlet, 'report')
    await expiring('Looker', 3 * DAY)
    await scheduler('a').tick()
    const rows = await warnings()
    expect(rows.map((r) => [r.store_id, r.recipient, r.subject])).toEqual([
      [
        t.storeId,
        'owner@shop.example',
        '[Analytics Sync] API key "Looker" expires 2026-11-29 01:00',
      ],
      [outlet.id, 'ops@outlet.example', '[Analytics Sync] API key "Feed" expires 2026-11-28 07:00'],
    ])
    const due = await t.data.all<DueRow>(
      `SELECT id, store_id, destination_id, kind, recipient, attempts, created_at FROM outbox
       WHERE store_id = ?`,
      outlet.id,
    )
    const email = await outboxEmail(t.data, due[0]!, BASE_URL)
    expect(email.text).toContain('Scope:   report\n')
    expect(email.text).toContain(`Settings: ${BASE_URL}/stores/outlet/settings\n`)
  })
})

describe('not queued', () => {
  test('while the store wants no notifications, or has no recipient; queued once it does', async () => {
    await updateSettings(t.data, t.store, { notify_failure: false, notify_success: false }, t.clock)
    await expiring('Looker', 3 * DAY)
    await scheduler('a').tick()
    expect(await warnings()).toEqual([])
    // Success emails alone are enough, but a recipient is needed.
    await updateSettings(t.data, t.store, { notify_success: true, store_email: '' }, t.clock)
    await scheduler('a').tick()
    expect(await warnings()).toEqual([])
    await updateSettings(t.data, t.store, { notify_recipient: 'ops@shop.example' }, t.clock)
    await scheduler('a').tick()
    expect((await warnings()).map((w) => w.recipient)).toEqual(['ops@shop.example'])
  })

  test('for a revoked key, an old key in its grace period, or a key already expired', async () => {
    const revoked = await expiring('Revoked', 3 * DAY)
    await revokeApiKey(t.data, t.store, String(revoked.key.id), t.clock)
    // Regenerated with a grace period: the old key is not warned about; its replacement (same
    // 30-day lifetime, from now) is not within 7 days either.
    await expiring('Rotated', 30 * DAY)
    t.clock.advance({ hours: 24 * 25 })
    await regenerateApiKey(t.data, t.store, 'Rotated', t.clock, undefined, { graceMs: 7 * DAY })
    // Expired an hour ago (made before the clock moved on): past, not "about to".
    await createApiKey(t.data, t.store, 'Past', 'export', t.clock, undefined, {
      expiresAt: t.clock.now().epochMilliseconds + 1,
    })
    t.clock.advance({ hours: 1 })
    await scheduler('a').tick()
    expect(await warnings()).toEqual([])
  })
})

describe('its content', () => {
  test('subject, text and HTML name the store, key, scope, prefix and expiry in store time; never the key', async () => {
    const key = await expiring('Looker <Studio>', 5 * DAY + 30 * 60_000)
    await scheduler('a').tick()
    const [row] = await t.data.all<DueRow>(
      `SELECT id, store_id, destination_id, kind, recipient, attempts, created_at FROM outbox`,
    )
    const email = await outboxEmail(t.data, row!, `${BASE_URL}/`)
    expect(email.subject).toBe(
      '[Analytics Sync] API key "Looker <Studio>" expires 2026-12-01 01:30',
    )
    expect(email.text).toBe(
      [
        'The API key "Looker <Studio>" of Corner Shop expires soon.',
        '',
        'Store:   Corner Shop',
        'Key:     Looker <Studio>',
        'Scope:   export',
        `Prefix:  ${key.key.prefix}…`,
        'Expires: 2026-12-01 01:30 (America/New_York)',
        '',
        'From then on, calls with this key get 401. Before that, generate a new key (or regenerate this one) on the settings page and give it to the clients that use this one.',
        '',
        `Settings: ${BASE_URL}/stores/default/settings`,
        '',
        '-- mida-export',
        '',
      ].join('\n'),
    )
    expect(email.html).toStartWith('<!doctype html><html lang="en">')
    expect(email.html).toContain('<td style="padding:4px 0">Looker &lt;Studio&gt;</td>')
    expect(email.html).toContain(
      '<td style="padding:4px 0">2026-12-01 01:30 (America/New_York)</td>',
    )
    expect(email.html).toContain(`<a href="${BASE_URL}/stores/default/settings">`)
    for (const body of [email.text, email.html]) expect(body).not.toContain(key.secret)
  })

  test("the settings page's outbox lists it like any email", async () => {
    await expiring('Looker', 5 * DAY)
    await scheduler('a').tick()
    const { admin } = await createOrResetAdmin(
      t.data,
      'me@shop.example',
      'a good password',
      t.clock,
    )
    const s = await startSession(t.data, admin.id, t.clock)
    const res = await t.request('/settings/notifications/outbox', {
      headers: { cookie: `mida_session=${s.token}`, 'hx-request': 'true' },
    })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain(
      '<td data-label="Subject">[Analytics Sync] API key &quot;Looker&quot; expires 2026-12-01 01:00</td><td data-label="To">owner@shop.example</td><td data-label="Status"><span class="status status-pending">queued</span></td><td data-label="Attempts">0</td>',
    )
  })
})
