import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/database.ts'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { recentOutbox } from '../../src/domain/notifications.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
import { startBackgroundJobs } from '../../src/domain/scheduler.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { createApp } from '../../src/http/app.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, type TestApp } from '../utils.ts'

const NOW = '2026-11-26T06:00:00Z' // 01:00 in New York

let t: TestApp
let sink: SmtpSink

beforeEach(async () => {
  sink = await startSmtpSink()
  t = createTestApp({
    now: NOW,
    settings: {
      timezone: 'America/New_York',
      store_email: 'owner@acme.test',
      api_enabled: true,
    },
  })
})

afterEach(async () => {
  t.close()
  await sink.stop()
})

function useSink(db = t.db): void {
  updateSettings(
    db,
    t.storeId,
    { smtp_host: '127.0.0.1', smtp_port: sink.port, smtp_security: 'none' },
    t.clock,
  )
}

/** A logged-in admin: the session cookie and the CSRF token. */
async function login(): Promise<{ cookie: string; csrf: string }> {
  const { admin } = await createOrResetAdmin(t.db, 'admin@acme.test', 'correct horse 1', t.clock)
  const session = startSession(t.db, admin.id, t.clock)
  return { cookie: `mida_session=${session.token}`, csrf: session.csrfToken }
}

async function post(
  path: string,
  fields: Record<string, string>,
  auth: { cookie: string; csrf: string },
) {
  return t.request(path, {
    method: 'POST',
    headers: {
      cookie: auth.cookie,
      'x-csrf-token': auth.csrf,
      'hx-request': 'true',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(fields).toString(),
  })
}

function sender(db = t.db, mailer = t.app.context.mailer) {
  return new OutboxSender({ db, clock: t.clock, mailer, baseUrl: t.config.baseUrl })
}

function apiSync(request = t.request, key: string) {
  return request('/apiv1/analytics/sync', {
    method: 'POST',
    headers: { 'x-mida-secret-key': key },
  })
}

describe('admin only', () => {
  test('anonymous requests and requests without the CSRF token are refused', async () => {
    const anonymous = await t.request('/settings/notifications/test', {
      method: 'POST',
      headers: { 'hx-request': 'true' },
    })
    expect(anonymous.status).toBe(401)
    const page = await t.request('/settings/notifications/outbox')
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/login?next=%2Fsettings%2Fnotifications%2Foutbox')
    const auth = await login()
    const noCsrf = await post('/settings/notifications/test', {}, { ...auth, csrf: 'wrong' })
    expect(noCsrf.status).toBe(403)
    expect(sink.messages).toHaveLength(0)
  })
})

describe('Send test email', () => {
  test('sends with the values typed in the form, unsaved, and reports the server answer', async () => {
    const auth = await login()
    const res = await post(
      '/settings/notifications/test',
      {
        smtp_host: '127.0.0.1',
        smtp_port: String(sink.port),
        smtp_security: 'none',
        smtp_from: 'shop@acme.test',
        notify_recipient: 'reports@acme.test',
        store_name: 'ignored',
      },
      auth,
    )
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('data-outcome="sent"')
    expect(html).toMatch(
      /Test email sent to reports@acme\.test\. The SMTP server answered: 250 [^<]*<\/p>$/,
    )
    expect(sink.messages.map((m) => [m.from, m.to, m.subject])).toEqual([
      ['shop@acme.test', ['reports@acme.test'], 'mida-export: test email'],
    ])
    expect(sink.messages[0]?.raw).toContain('Sent at: 2026-11-26 01:00 (America/New_York)')
    // Nothing was saved.
    const saved = readSettings(t.db, t.storeId)
    expect([saved.smtp_host, saved.notify_recipient, saved.store_name]).toEqual([
      '',
      '',
      'My Store',
    ])
  })

  test('a refusing server: the reply is shown, nothing else happens', async () => {
    const auth = await login()
    useSink()
    sink.refuse({ code: 550, message: 'Relay access denied' })
    const res = await post('/settings/notifications/test', {}, auth)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('data-outcome="failed"')
    expect(html).toContain('Not sent: ')
    expect(html).toContain('550 Relay access denied')
  })

  test('an empty password field keeps the saved password (never shown back)', async () => {
    const authed = await startSmtpSink({ auth: { user: 'mida', pass: 'pa55-<secret>' } })
    try {
      updateSettings(
        t.db,
        t.storeId,
        {
          smtp_host: '127.0.0.1',
          smtp_port: authed.port,
          smtp_security: 'none',
          smtp_user: 'mida',
          smtp_password: 'pa55-<secret>',
        },
        t.clock,
      )
      const auth = await login()
      const res = await post('/settings/notifications/test', { smtp_password: '' }, auth)
      expect(await res.text()).toContain('data-outcome="sent"')
      expect(authed.messages).toHaveLength(1)
      const wrong = await post('/settings/notifications/test', { smtp_password: 'nope' }, auth)
      expect(await wrong.text()).toContain('535 Authentication failed')

      const page = await t.request('/settings', { headers: { cookie: auth.cookie } })
      const body = await page.text()
      expect(body).toContain('Email delivery (SMTP)')
      expect(body).toContain('Send test email')
      expect(body).not.toContain('pa55')
      expect(body).toContain('saved (leave empty to keep it)')
    } finally {
      await authed.stop()
    }
  })

  test('bad input is refused with what is wrong, and nothing is sent', async () => {
    const auth = await login()
    const cases: [Record<string, string>, string][] = [
      [
        { smtp_host: '127.0.0.1', smtp_port: 'abc' },
        'Not sent: smtp_port: must be a port from 1 to 65535',
      ],
      [{ smtp_host: '' }, 'Not sent: fill in the SMTP host first (or set MIDA_SMTP_URL).'],
      [
        { smtp_host: '127.0.0.1', store_email: '', notify_recipient: '' },
        'Not sent: set a Recipient or the store email first.',
      ],
      [
        { smtp_host: 'x', smtp_from: 'not an email' },
        'Not sent: smtp_from: must be an email address',
      ],
    ]
    for (const [fields, message] of cases) {
      const res = await post('/settings/notifications/test', fields, auth)
      expect(res.status).toBe(422)
      expect(await res.text()).toContain(`data-outcome="invalid">${Bun.escapeHTML(message)}</p>`)
    }
    expect(sink.messages).toHaveLength(0)
  })
})

describe('the settings page', () => {
  test('without SMTP: says how to configure it, and queued emails show as not sendable', async () => {
    const auth = await login()
    const key = createApiKey(t.db, t.storeId, 'looker', 'export', t.clock).secret
    t.db.exec('ALTER TABLE sessions RENAME TO sessions_gone')
    expect((await apiSync(t.request, key)).status).toBe(500)
    t.db.exec('ALTER TABLE sessions_gone RENAME TO sessions') // the page's dashboard reads it
    await sender().runOnce()
    const page = await (await t.request('/settings', { headers: { cookie: auth.cookie } })).text()
    expect(page).toContain('No SMTP server is configured')
    expect(page).toContain('587 with STARTTLS, or 465 with TLS')
    const outbox = await (
      await t.request('/settings/notifications/outbox', { headers: { cookie: auth.cookie } })
    ).text()
    expect(outbox).toContain('[Analytics Sync] Failed - 2026-11-26 01:00')
    expect(outbox).toContain('owner@acme.test')
    expect(outbox).toContain('>not sendable</span>')
    expect(outbox).toContain('No SMTP server configured')

    useSink()
    await sender().runOnce()
    const after = await (
      await t.request('/settings/notifications/outbox', { headers: { cookie: auth.cookie } })
    ).text()
    expect(after).toContain('>sent</span>')
    expect(after).toMatch(
      /<td data-label="Attempts">1<\/td><td data-label="Last answer"><small>250 /,
    )
    const settingsPage = await (
      await t.request('/settings', { headers: { cookie: auth.cookie } })
    ).text()
    expect(settingsPage).toContain(
      `Mail goes through <span>127.0.0.1:${sink.port} (no encryption)</span>`,
    )
  })
})

describe('end to end with the real SMTP server', () => {
  test('a failing API sync answers Sync failed and sends one failure email', async () => {
    useSink()
    const key = createApiKey(t.db, t.storeId, 'looker', 'export', t.clock).secret
    t.db.exec('ALTER TABLE sessions RENAME TO sessions_gone')
    for (let i = 0; i < 3; i++) {
      const res = await apiSync(t.request, key)
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ success: false, error: 'Sync failed' })
    }
    await sender().runOnce()
    await sender().runOnce()
    expect(sink.messages.map((m) => [m.subject, m.to])).toEqual([
      ['[Analytics Sync] Failed - 2026-11-26 01:00', ['owner@acme.test']],
    ])
    expect(sink.messages[0]?.raw).toContain('no such table: sessions')
  })

  test('success emails only with notify_success; one per period across calls, restarts and two apps', async () => {
    useSink()
    const key = createApiKey(t.db, t.storeId, 'looker', 'export', t.clock).secret
    expect((await apiSync(t.request, key)).status).toBe(200)
    await sender().runOnce()
    expect(sink.messages).toHaveLength(0)

    updateSettings(
      t.db,
      t.storeId,
      { notify_success: true, notify_recipient: 'r@acme.test' },
      t.clock,
    )
    t.clock.set('2026-11-27T06:00:00Z')
    expect((await apiSync(t.request, key)).status).toBe(200)
    expect((await apiSync(t.request, key)).status).toBe(200)

    // A restart: a new app on the same data directory, and a second one running alongside.
    const dbs = [openDatabase(t.dir), openDatabase(t.dir)]
    try {
      const apps = dbs.map((db) => createApp({ db, config: t.config, clock: t.clock }))
      const requests = apps.map(
        (app) => (path: string, init?: RequestInit) =>
          app.handle(new Request(`http://localhost${path}`, init)),
      )
      const answers = await Promise.all(requests.flatMap((r) => [apiSync(r, key), apiSync(r, key)]))
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      await Promise.all([sender(dbs[0]).runOnce(), sender(dbs[1]).runOnce(), sender().runOnce()])
    } finally {
      for (const db of dbs) db.close()
    }
    expect(sink.messages.map((m) => [m.subject, m.to])).toEqual([
      ['[Analytics Sync] Success - 2026-11-27 01:00', ['r@acme.test']],
    ])
    expect(sink.messages[0]?.raw).toContain('2026-11-26 (daily')
  })

  test('catch-up at start-up after downtime: the missed period is synced and mailed', async () => {
    useSink()
    updateSettings(t.db, t.storeId, { notify_success: true }, t.clock)
    // The server ran on the 26th and synced the 25th.
    let jobs = startBackgroundJobs({
      db: t.db,
      clock: t.clock,
      mailer: t.app.context.mailer,
      baseUrl: t.config.baseUrl,
    })
    await sink.waitFor(1)
    await jobs.stop()
    // Down until the 29th at 15:00 New York time; the restart catches up the 28th only.
    const clock = new FixedClock('2026-11-29T20:00:00Z')
    const db = openDatabase(t.dir)
    try {
      jobs = startBackgroundJobs({
        db,
        clock,
        mailer: createApp({ db, config: t.config, clock }).context.mailer,
        baseUrl: 'https://stats.acme.test',
      })
      await sink.waitFor(2)
      await jobs.stop()
    } finally {
      db.close()
    }
    expect(sink.messages.map((m) => m.subject)).toEqual([
      '[Analytics Sync] Success - 2026-11-26 01:00',
      '[Analytics Sync] Success - 2026-11-29 15:00',
    ])
    expect(sink.messages[1]?.raw).toContain('2026-11-28 (daily')
    expect(sink.messages[1]?.raw).toContain('https://stats.acme.test/settings')
    expect(
      t.db.query('SELECT period_label, trigger FROM sync_records ORDER BY period_start').all(),
    ).toEqual([
      { period_label: '2026-11-25', trigger: 'scheduler' },
      { period_label: '2026-11-28', trigger: 'scheduler' },
    ])
    expect(recentOutbox(t.db, t.storeId).map((r) => r.status)).toEqual(['sent', 'sent'])
  })
})
