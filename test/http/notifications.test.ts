import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { type AddressInfo, createServer } from 'node:net'
import { closeCore, openCore } from '../../src/core.ts'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { recentOutbox } from '../../src/domain/notifications.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
import { startBackgroundJobs } from '../../src/domain/scheduler.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { createApp } from '../../src/http/app.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, onPostgres, type TestApp } from '../utils.ts'

const NOW = '2026-11-26T06:00:00Z' // 01:00 in New York

let t: TestApp
let sink: SmtpSink

beforeEach(async () => {
  sink = await startSmtpSink()
  t = await createTestApp({
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

async function useSink(): Promise<void> {
  await updateSettings(
    t.data,
    t.store,
    { smtp_host: '127.0.0.1', smtp_port: sink.port, smtp_security: 'none' },
    t.clock,
  )
}

/** A logged-in admin: the session cookie and the CSRF token. */
async function login(): Promise<{ cookie: string; csrf: string }> {
  const { admin } = await createOrResetAdmin(t.data, 'admin@acme.test', 'correct horse 1', t.clock)
  const session = await startSession(t.data, admin.id, t.clock)
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

function sender(data = t.data, mailer = t.app.context.mailer) {
  return new OutboxSender({ data, clock: t.clock, mailer, baseUrl: t.config.baseUrl })
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
    expect(html).toContain(
      `>Test email sent to reports@acme.test through 127.0.0.1:${sink.port}; the SMTP server accepted it (250).</p>`,
    )
    expect(sink.messages.map((m) => [m.from, m.to, m.subject])).toEqual([
      ['shop@acme.test', ['reports@acme.test'], 'mida-export: test email'],
    ])
    expect(sink.messages[0]?.raw).toContain('Sent at: 2026-11-26 01:00 (America/New_York)')
    // Its link leads to the page of the store it was sent from, whoever opens it.
    expect(sink.messages[0]?.raw).toContain(`Settings: ${t.config.baseUrl}/stores/default/settings`)
    // Nothing was saved.
    const saved = await readSettings(t.data, t.store)
    expect([saved.smtp_host, saved.notify_recipient, saved.store_name]).toEqual([
      '',
      '',
      'My Store',
    ])
  })

  test('a refusing server: the reply is shown, nothing else happens', async () => {
    const auth = await login()
    await useSink()
    sink.refuse({ code: 550, message: 'Relay access denied' })
    const res = await post('/settings/notifications/test', {}, auth)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain(
      `data-outcome="failed">Not sent: 127.0.0.1:${sink.port} refused the message (SMTP reply 550): check the sender and recipient addresses.</p>`,
    )
    expect(html).not.toContain('Relay access denied')
  })

  test('an empty password field keeps the saved password (never shown back)', async () => {
    const authed = await startSmtpSink({ auth: { user: 'mida', pass: 'pa55-<secret>' } })
    try {
      await updateSettings(
        t.data,
        t.store,
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
      expect(await wrong.text()).toContain(
        `Not sent: login refused by 127.0.0.1:${authed.port}: check the user name and password.`,
      )

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

describe('Send test email: the saved password goes only to the saved server', () => {
  const LOGIN = { user: 'mida', pass: 'pa55-saved' }
  let saved: SmtpSink
  let other: SmtpSink

  beforeEach(async () => {
    saved = await startSmtpSink({ auth: LOGIN })
    // Another server: same port on another loopback address, so a host change alone reaches it.
    other = await startSmtpSink({
      auth: { user: 'mida', pass: 'typed-again' },
      host: '127.0.0.2',
      port: saved.port,
    })
    await updateSettings(
      t.data,
      t.store,
      {
        smtp_host: '127.0.0.1',
        smtp_port: saved.port,
        smtp_security: 'none',
        smtp_user: LOGIN.user,
        smtp_password: LOGIN.pass,
      },
      t.clock,
    )
  })

  afterEach(async () => {
    await saved.stop()
    await other.stop()
  })

  const answer = async (fields: Record<string, string>) => {
    const res = await post('/settings/notifications/test', fields, await login())
    return { status: res.status, html: await res.text() }
  }

  test('another host with the field empty: nothing is sent anywhere, the password is asked for', async () => {
    const changes: Record<string, string>[] = [
      { smtp_host: '127.0.0.2', smtp_password: '' },
      { smtp_host: '127.0.0.2' },
      { smtp_port: String(sink.port) },
      { smtp_security: 'starttls' },
      { smtp_user: 'someone-else' },
    ]
    for (const fields of changes) {
      const { status, html } = await answer(fields)
      expect(status).toBe(422)
      expect(html).toContain(
        'data-outcome="invalid">Not sent: the saved SMTP password is only sent to the saved server (',
      )
      expect(html).toContain(', type the password again.</p>')
    }
    const { html } = await answer({ smtp_host: '127.0.0.2' })
    expect(html).toContain(
      `>Not sent: the saved SMTP password is only sent to the saved server (127.0.0.1:${saved.port} (no encryption, as mida)). To test 127.0.0.2:${saved.port} (no encryption, as mida), type the password again.</p>`,
    )
    expect([other.connections(), saved.connections(), sink.connections()]).toEqual([0, 0, 0])
    expect(other.logins).toEqual([])
  })

  test('the saved server with the field empty: sent, with the saved password', async () => {
    const { html } = await answer({ smtp_host: '127.0.0.1', smtp_port: String(saved.port) })
    expect(html).toContain(
      `>Test email sent to owner@acme.test through 127.0.0.1:${saved.port}; the SMTP server accepted it (250).</p>`,
    )
    expect(saved.logins).toEqual([LOGIN])
    expect(saved.messages).toHaveLength(1)
    expect(other.connections()).toBe(0)
  })

  test('another host with the password typed again: sent, with the typed password', async () => {
    const { html } = await answer({ smtp_host: '127.0.0.2', smtp_password: 'typed-again' })
    expect(html).toContain(
      `>Test email sent to owner@acme.test through 127.0.0.2:${saved.port}; the SMTP server accepted it (250).</p>`,
    )
    expect(other.logins).toEqual([{ user: 'mida', pass: 'typed-again' }])
    expect(other.messages).toHaveLength(1)
    expect(saved.connections()).toBe(0)
    // Nothing was saved: the next empty field still means the saved password, for the saved server.
    expect((await readSettings(t.data, t.store)).smtp_password).toBe(LOGIN.pass)
  })

  test('a local server without a login works with the field empty; the password is not sent', async () => {
    const { html } = await answer({
      smtp_host: 'localhost',
      smtp_port: String(sink.port),
      smtp_user: '',
    })
    expect(html).toContain(
      `>Test email sent to owner@acme.test through localhost:${sink.port}; the SMTP server accepted it (250).</p>`,
    )
    expect(sink.messages).toHaveLength(1)
    expect(sink.logins).toEqual([])
    expect(sink.messages[0]?.raw).not.toContain(LOGIN.pass)
  })

  test('MIDA_SMTP_URL overrides the form: the test goes to it, with its own credentials', async () => {
    const env = await createTestApp({
      now: NOW,
      settings: { store_email: 'owner@acme.test' },
      env: { MIDA_SMTP_URL: `smtp://mida:${LOGIN.pass}@127.0.0.1:${saved.port}` },
    })
    try {
      const { admin } = await createOrResetAdmin(
        env.data,
        'admin@acme.test',
        'correct horse 1',
        env.clock,
      )
      const session = await startSession(env.data, admin.id, env.clock)
      const res = await env.request('/settings/notifications/test', {
        method: 'POST',
        headers: {
          cookie: `mida_session=${session.token}`,
          'x-csrf-token': session.csrfToken,
          'hx-request': 'true',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          smtp_host: '127.0.0.2',
          smtp_port: String(saved.port),
        }).toString(),
      })
      expect(await res.text()).toContain(
        `>Test email sent to owner@acme.test through 127.0.0.1:${saved.port}; the SMTP server accepted it (250).</p>`,
      )
      expect(saved.logins).toEqual([LOGIN])
      expect(other.connections()).toBe(0)
    } finally {
      env.close()
    }
  })
})

describe('Send test email: a failure says what to act on, never what the peer said', () => {
  const answer = async (fields: Record<string, string>) => {
    const res = await post('/settings/notifications/test', fields, await login())
    expect(res.status).toBe(200)
    return res.text()
  }
  const failed = (message: string) => `data-outcome="failed">Not sent: ${message}</p>`

  test('a closed port: could not connect', async () => {
    const gone = await startSmtpSink()
    const port = gone.port
    await gone.stop()
    expect(
      await answer({ smtp_host: '127.0.0.1', smtp_port: String(port), smtp_security: 'none' }),
    ).toContain(failed(`could not connect to 127.0.0.1:${port}: the connection was refused.`))
  })

  test('a wrong password: login refused', async () => {
    const authed = await startSmtpSink({
      auth: { user: 'mida', pass: 'right' },
      banner: 'ZORGLUB-BANNER',
    })
    try {
      const html = await answer({
        smtp_host: '127.0.0.1',
        smtp_port: String(authed.port),
        smtp_security: 'none',
        smtp_user: 'mida',
        smtp_password: 'wrong',
      })
      expect(html).toContain(
        failed(`login refused by 127.0.0.1:${authed.port}: check the user name and password.`),
      )
      expect(html).not.toContain('Authentication failed')
      expect(html).not.toContain('ZORGLUB')
      expect(authed.logins).toEqual([{ user: 'mida', pass: 'wrong' }])
    } finally {
      await authed.stop()
    }
  })

  test('a plain-text server where TLS is expected: TLS failed', async () => {
    const fields = { smtp_host: '127.0.0.1', smtp_port: String(sink.port) }
    expect(await answer({ ...fields, smtp_security: 'tls' })).toContain(
      failed(
        `TLS failed with 127.0.0.1:${sink.port} (ERR_SSL_WRONG_VERSION_NUMBER): check that the port expects TLS from the first byte (465), or choose STARTTLS.`,
      ),
    )
    // STARTTLS against this server: it upgrades with an expired self-signed certificate.
    expect(await answer({ ...fields, smtp_security: 'starttls' })).toContain(
      failed(
        `TLS failed with 127.0.0.1:${sink.port} (CERT_HAS_EXPIRED): check the port and the security setting.`,
      ),
    )
    expect(sink.messages).toHaveLength(0)
  })

  test("the peer's banner and replies are not shown", async () => {
    const chatty = await startSmtpSink({ banner: 'ZORGLUB-BANNER internal-relay-7' })
    chatty.refuse({ code: 550, message: 'ZORGLUB-REPLY user unknown in vault 42' })
    // Not SMTP at all: an internal service that greets with something of its own.
    const service = createServer((socket) =>
      socket.end('HTTP/1.1 400 ZORGLUB-SERVICE secret-build-9\r\n\r\n'),
    )
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', () => resolve()))
    const servicePort = (service.address() as AddressInfo).port
    try {
      const refused = await answer({
        smtp_host: '127.0.0.1',
        smtp_port: String(chatty.port),
        smtp_security: 'none',
      })
      expect(refused).toContain(
        failed(
          `127.0.0.1:${chatty.port} refused the message (SMTP reply 550): check the sender and recipient addresses.`,
        ),
      )
      chatty.refuse(null)
      const sent = await answer({
        smtp_host: '127.0.0.1',
        smtp_port: String(chatty.port),
        smtp_security: 'none',
      })
      expect(sent).toContain(
        `Test email sent to owner@acme.test through 127.0.0.1:${chatty.port}; the SMTP server accepted it (250).`,
      )
      const notSmtp = await answer({
        smtp_host: '127.0.0.1',
        smtp_port: String(servicePort),
        smtp_security: 'none',
      })
      expect(notSmtp).toContain(
        failed(
          `127.0.0.1:${servicePort} did not answer like an SMTP server: check the host and port.`,
        ),
      )
      for (const html of [refused, sent, notSmtp]) {
        expect(html).not.toContain('ZORGLUB')
        expect(html).not.toContain('queued')
      }
    } finally {
      await chatty.stop()
      await new Promise((resolve) => service.close(resolve))
    }
  })
})

describe('the settings page', () => {
  test('without SMTP: says how to configure it, and queued emails show as not sendable', async () => {
    const auth = await login()
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    expect((await apiSync(t.request, key)).status).toBe(500)
    await t.data.run('ALTER TABLE sessions_gone RENAME TO sessions') // the page's dashboard reads it
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

    await useSink()
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
    await useSink()
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
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
    // The cause is the database's own message: each engine words it its own way.
    expect(sink.messages[0]?.raw).toContain(
      onPostgres ? 'relation "sessions" does not exist' : 'no such table: sessions',
    )
  })

  test('success emails only with notify_success; one per period across calls, restarts and two apps', async () => {
    await useSink()
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    expect((await apiSync(t.request, key)).status).toBe(200)
    await sender().runOnce()
    expect(sink.messages).toHaveLength(0)

    await updateSettings(
      t.data,
      t.store,
      { notify_success: true, notify_recipient: 'r@acme.test' },
      t.clock,
    )
    t.clock.set('2026-11-27T06:00:00Z')
    expect((await apiSync(t.request, key)).status).toBe(200)
    expect((await apiSync(t.request, key)).status).toBe(200)

    // A restart: a new app on the same data directory, and a second one running alongside.
    const cores = await Promise.all(
      [0, 1].map(() => openCore({ config: t.config, clock: t.clock })),
    )
    const datas = cores.map((core) => core.data)
    try {
      const apps = cores.map((core) => createApp(core))
      const requests = apps.map(
        (app) => (path: string, init?: RequestInit) =>
          app.handle(new Request(`http://localhost${path}`, init)),
      )
      const answers = await Promise.all(requests.flatMap((r) => [apiSync(r, key), apiSync(r, key)]))
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      await Promise.all([
        sender(datas[0]).runOnce(),
        sender(datas[1]).runOnce(),
        sender().runOnce(),
      ])
    } finally {
      for (const core of cores) await closeCore(core)
    }
    expect(sink.messages.map((m) => [m.subject, m.to])).toEqual([
      ['[Analytics Sync] Success - 2026-11-27 01:00', ['r@acme.test']],
    ])
    expect(sink.messages[0]?.raw).toContain('2026-11-26 (daily')
  })

  test('catch-up at start-up after downtime: the missed period is synced and mailed', async () => {
    await useSink()
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    // The server ran on the 26th and synced the 25th.
    let jobs = startBackgroundJobs({
      data: t.data,
      clock: t.clock,
      mailer: t.app.context.mailer,
      baseUrl: t.config.baseUrl,
    })
    await sink.waitFor(1)
    await jobs.stop()
    // Down until the 29th at 15:00 New York time; the restart catches up the 28th only.
    const clock = new FixedClock('2026-11-29T20:00:00Z')
    const core = await openCore({ config: t.config, clock })
    const { data } = core
    try {
      jobs = startBackgroundJobs({
        data,
        clock,
        mailer: core.mailer,
        baseUrl: 'https://stats.acme.test',
      })
      await sink.waitFor(2)
      await jobs.stop()
    } finally {
      await closeCore(core)
    }
    expect(sink.messages.map((m) => m.subject)).toEqual([
      '[Analytics Sync] Success - 2026-11-26 01:00',
      '[Analytics Sync] Success - 2026-11-29 15:00',
    ])
    expect(sink.messages[1]?.raw).toContain('2026-11-28 (daily')
    expect(sink.messages[1]?.raw).toContain('https://stats.acme.test/stores/default/settings')
    expect(
      await t.data.all('SELECT period_label, trigger FROM sync_records ORDER BY period_start'),
    ).toEqual([
      { period_label: '2026-11-25', trigger: 'scheduler' },
      { period_label: '2026-11-28', trigger: 'scheduler' },
    ])
    expect((await recentOutbox(t.data, t.store)).map((r) => r.status)).toEqual(['sent', 'sent'])
  })
})

describe('only the last completed period is mailed; a backfill sends nothing', () => {
  const outboxRows = () => t.data.all('SELECT outcome, period_label FROM outbox ORDER BY id')
  const syncBody = (key: string, body: Record<string, string>) =>
    t.request('/apiv1/analytics/sync', {
      method: 'POST',
      headers: { 'x-mida-secret-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  beforeEach(async () => {
    await useSink()
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
  })

  test('20 calls for distinct past dates queue and send no email; the last completed period one', async () => {
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    // The last completed day is 2026-11-25: the 20 days before it are backfills.
    for (let day = 5; day <= 24; day++) {
      const res = await syncBody(key, { date: `2026-11-${String(day).padStart(2, '0')}` })
      expect(res.status).toBe(200)
    }
    expect(
      await t.data.get("SELECT count(*) AS n FROM sync_records WHERE status = 'success'"),
    ).toEqual({ n: 20 })
    expect(await outboxRows()).toEqual([])
    await sender().runOnce()
    expect(sink.connections()).toBe(0)

    // The last completed period, named or not: one email, however often it is recomputed.
    expect((await syncBody(key, { date: '2026-11-25' })).status).toBe(200)
    expect((await apiSync(t.request, key)).status).toBe(200)
    await updateSettings(t.data, t.store, { currency: 'EUR' }, t.clock) // the next call recomputes
    expect((await apiSync(t.request, key)).status).toBe(200)
    expect(await outboxRows()).toEqual([{ outcome: 'success', period_label: '2026-11-25' }])
    await sender().runOnce()
    expect(sink.messages.map((m) => m.subject)).toEqual([
      '[Analytics Sync] Success - 2026-11-26 01:00',
    ])
    expect(sink.messages[0]?.raw).toContain('2026-11-25 (daily')
  })

  test('a failing backfill sends no failure email; a failing last period does', async () => {
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    for (const date of ['2026-11-20', '2026-11-21', '2026-11-22']) {
      expect((await syncBody(key, { date })).status).toBe(500)
    }
    expect(
      await t.data.get("SELECT count(*) AS n FROM sync_records WHERE status = 'failed'"),
    ).toEqual({ n: 3 })
    expect(await outboxRows()).toEqual([])
    await sender().runOnce()
    expect(sink.connections()).toBe(0)

    expect((await apiSync(t.request, key)).status).toBe(500)
    expect(await outboxRows()).toEqual([{ outcome: 'failed', period_label: '2026-11-25' }])
    await sender().runOnce()
    expect(sink.messages.map((m) => m.subject)).toEqual([
      '[Analytics Sync] Failed - 2026-11-26 01:00',
    ])
  })

  test('the scheduled sync still mails', async () => {
    const jobs = startBackgroundJobs({
      data: t.data,
      clock: t.clock,
      mailer: t.app.context.mailer,
      baseUrl: t.config.baseUrl,
    })
    try {
      await sink.waitFor(1)
    } finally {
      await jobs.stop()
    }
    expect(sink.messages.map((m) => m.subject)).toEqual([
      '[Analytics Sync] Success - 2026-11-26 01:00',
    ])
    expect(await outboxRows()).toEqual([{ outcome: 'success', period_label: '2026-11-25' }])
  })
})
