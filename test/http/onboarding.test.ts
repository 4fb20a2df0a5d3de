import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { recentAudit } from '../../src/domain/audit.ts'
import { generateDemo } from '../../src/domain/demo.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { createTestApp, type TestApp } from '../utils.ts'

let t: TestApp
let cookie: string
let csrf: string

beforeEach(async () => {
  t = await createTestApp({ settings: { timezone: 'America/New_York' } })
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const s = await startSession(t.data, admin.id, t.clock)
  cookie = `mida_session=${s.token}`
  csrf = s.csrfToken
})
afterEach(() => t.close())

/** An htmx request of the logged-in admin (CSRF header included unless overridden). */
function hx(path: string, fields?: Record<string, string>, headers = {}) {
  return t.request(path, {
    method: fields ? 'POST' : 'GET',
    headers: { cookie, 'hx-request': 'true', 'x-csrf-token': csrf, ...headers },
    body: fields ? new URLSearchParams(fields) : undefined,
  })
}
const page = async () => (await t.request('/settings', { headers: { cookie } })).text()
const set = (changes: Record<string, string>) => updateSettings(t.data, t.store, changes, t.clock)

describe('Activate the API now', () => {
  test('sets api_enabled, audits it, and answers the note, the switch, the next sync and the audit log', async () => {
    const res = await hx('/settings/api/activate', {})
    expect(res.status).toBe(200)
    expect(res.headers.get('hx-trigger')).toBe('api-activated')
    const html = await res.text()
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(true)
    expect((await recentAudit(t.data, t.store)).map((e) => [e.actor, e.action])).toEqual([
      ['me@shop.example', 'api.enabled'],
    ])
    expect(html).toStartWith('<p id="new-key-api-warning" class="status status-success"')
    expect(html).toContain('<hx-partial hx-target="#section-api-status" hx-swap="outerHTML">')
    expect(html).toMatch(/<input[^>]*id="field-api_enabled"[^>]*checked/)
    expect(html).toContain('<hx-partial hx-target="#next-sync" hx-swap="outerHTML">')
    expect(html).toContain('Next sync: Fri 01:00 America/New_York, covering 2026-11-26')
    expect(html).toContain('<hx-partial hx-target="#audit-log" hx-swap="outerHTML">')
    expect(html).toContain('API switched on')
    // Nothing else of the form comes back: other unsaved edits stay as typed.
    expect(html).not.toContain('name="store_name"')
  })

  test('needs the admin and the CSRF token', async () => {
    const anonymous = await t.request('/settings/api/activate', { method: 'POST' })
    expect(anonymous.status).toBe(401)
    const forged = await hx('/settings/api/activate', {}, { 'x-csrf-token': 'wrong' })
    expect(forged.status).toBe(403)
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(false)
    expect(await recentAudit(t.data, t.store)).toEqual([])
  })
})

describe("the new-key box's API state", () => {
  test('reloads as the warning while the API is off, the working note once on; admins only', async () => {
    const off = await (await hx('/settings/keys/api-state')).text()
    expect(off).toStartWith(
      '<div id="new-key-api-state" hx-get="/settings/keys/api-state" hx-trigger="settings-saved from:body" hx-swap="outerHTML"><div id="new-key-api-warning" class="new-key-warning" role="alert">',
    )
    await set({ api_enabled: 'true' })
    const on = await (await hx('/settings/keys/api-state')).text()
    expect(on).toContain('<p id="new-key-api-warning" class="status status-success" role="status">')
    expect(on).toContain('API Status is now Activated: the key works.')
    const anonymous = await t.request('/settings/keys/api-state', {
      headers: { 'hx-request': 'true' },
    })
    expect(anonymous.status).toBe(401)
  })
})

describe('Test this key', () => {
  test('calls the sync API with the key: 403 with the hint while deactivated, then 200 with the JSON', async () => {
    const { secret } = await createApiKey(t.data, t.store, 'curl', 'export', t.clock)
    const off = await hx('/settings/keys/test', { key: secret })
    expect(off.status).toBe(200)
    const offHtml = await off.text()
    expect(offHtml).toContain('data-status="403">HTTP 403</p>')
    expect(offHtml).toContain('API Status is Deactivated: activate the API')
    expect(offHtml).toContain('&quot;error&quot;: &quot;API is deactivated&quot;')

    await set({ api_enabled: 'true' })
    const on = await (await hx('/settings/keys/test', { key: secret })).text()
    expect(on).toContain('data-status="200">HTTP 200</p>')
    expect(on).toContain('&quot;message&quot;: &quot;Sync successful&quot;')
    expect(on).toContain('&quot;label&quot;: &quot;2026-11-25&quot;')
    expect(on).not.toContain('key-test-hint')

    // Real calls: in the call log under the key's name, from the admin's address; the key is
    // stored nowhere.
    await t.core.callLog.flush()
    const calls = await t.data.all<{ status: number; key_id: number }>(
      'SELECT status, key_id FROM sync_requests ORDER BY id',
    )
    expect(calls.map((c) => c.status)).toEqual([403, 200])
    const dump = JSON.stringify(
      await Promise.all(
        ['sync_requests', 'audit_log', 'sync_records', 'store_settings'].map((table) =>
          t.data.all(`SELECT * FROM ${table}`),
        ),
      ),
    )
    expect(dump).not.toContain(secret)
  })

  test('a wrong key gets 401 and says so; the CSRF token is needed', async () => {
    await set({ api_enabled: 'true' })
    const wrong = await (await hx('/settings/keys/test', { key: 'mida_sk_nope' })).text()
    expect(wrong).toContain('data-status="401">HTTP 401</p>')
    expect(wrong).toContain('The key was not accepted')
    const forged = await hx('/settings/keys/test', { key: 'x' }, { 'x-csrf-token': 'wrong' })
    expect(forged.status).toBe(403)
  })
})

describe('the new-key box', () => {
  test('warns while the API is deactivated, with the activate button and the test button', async () => {
    const res = await hx('/settings/keys', { name: 'curl', scope: 'export' })
    const html = await res.text()
    expect(html).toContain('<div id="new-key-api-warning" class="new-key-warning" role="alert">')
    expect(html).toContain('<button type="submit" form="api-activate-form">')
    expect(html).toMatch(/<input type="hidden" name="key" value="mida_sk_\w+" form="key-test-form"/)
    // The audit log and the overview come along as partials.
    expect(html).toContain('<hx-partial hx-target="#audit-log" hx-swap="outerHTML">')
    expect(html).toContain('API key created')
    expect(html).toContain('<hx-partial hx-target="#overview" hx-swap="outerHTML">')
    expect(html).toMatch(/data-step="key" data-done="true"/)

    await set({ api_enabled: 'true' })
    const on = await (await hx('/settings/keys', { name: 'other', scope: 'export' })).text()
    expect(on).not.toContain('new-key-api-warning')
    expect(on).toContain('Test this key')
  })

  test('revoke and regenerate refresh the audit log too; a refused name does not', async () => {
    const { key } = await createApiKey(t.data, t.store, 'curl', 'export', t.clock)
    const regen = await (await hx(`/settings/keys/${key.id}/regenerate`, {})).text()
    expect(regen).toContain('<hx-partial hx-target="#audit-log" hx-swap="outerHTML">')
    expect(regen).toContain('API key regenerated')
    const fresh = /hx-post="\/settings\/keys\/(\d+)\/revoke"/.exec(regen)![1]
    const revoked = await (await hx(`/settings/keys/${fresh}/revoke`, {})).text()
    expect(revoked).toContain('API key revoked')
    expect(revoked).toMatch(/data-step="key" data-done="false"/)
    const refused = await (await hx('/settings/keys', { name: '' })).text()
    expect(refused).not.toContain('hx-partial')
  })
})

describe('notification warnings', () => {
  const warnings = async () => {
    const html = await page()
    return [
      /id="notify-warning-smtp"[^>]*>\s*<strong>([^<]*)</.exec(html)?.[1] ?? null,
      /id="notify-warning-recipient"[^>]*>\s*<strong>([^<]*)</.exec(html)?.[1] ?? null,
    ]
  }

  test('appear exactly when emails are on and there is no SMTP server or no recipient', async () => {
    // Fresh: failure emails on, no SMTP, no store email.
    expect(await warnings()).toEqual([
      'Failure emails are on but no SMTP server is configured',
      'Failure emails are on but no recipient',
    ])
    await set({ notify_success: 'true' })
    expect(await warnings()).toEqual([
      'Failure and success emails are on but no SMTP server is configured',
      'Failure and success emails are on but no recipient',
    ])
    await set({ store_email: 'shop@shop.example', notify_failure: 'false' })
    expect(await warnings()).toEqual([
      'Success emails are on but no SMTP server is configured',
      null,
    ])
    await set({ smtp_host: 'smtp.shop.example' })
    expect(await warnings()).toEqual([null, null])
    await set({ store_email: '', notify_recipient: 'ops@shop.example' })
    expect(await warnings()).toEqual([null, null])
    await set({ notify_recipient: '' })
    expect(await warnings()).toEqual([null, 'Success emails are on but no recipient'])
    await set({ notify_success: 'false' })
    expect(await warnings()).toEqual([null, null])
  })

  test('MIDA_SMTP_URL counts as an SMTP server', async () => {
    t.close()
    t = await createTestApp({ env: { MIDA_SMTP_URL: 'smtp://relay.example:25' } })
    const { admin } = await createOrResetAdmin(
      t.data,
      'me@shop.example',
      'a good password',
      t.clock,
    )
    cookie = `mida_session=${(await startSession(t.data, admin.id, t.clock)).token}`
    await set({ store_email: 'shop@shop.example' })
    expect(await warnings()).toEqual([null, null])
  })
})

describe('the overview', () => {
  const steps = (html: string) =>
    [...html.matchAll(/data-step="(\w+)" data-done="(true|false)"/g)].map((m) => [m[1], m[2]])

  test('an empty store gets the checklist, ticked from the real state', async () => {
    expect(steps(await page())).toEqual([
      ['api', 'false'],
      ['key', 'false'],
      ['data', 'false'],
      ['recipient', 'false'],
    ])
    await set({
      api_enabled: 'true',
      shopify_webhook_secret: 'whsec',
      store_email: 'a@shop.example',
    })
    await createApiKey(t.data, t.store, 'ingest only', 'ingest', t.clock)
    const fragment = await (await hx('/settings/overview')).text()
    expect(fragment).toStartWith('<div id="overview"')
    // An ingest key is no export key; a recipient without SMTP is not enough.
    expect(steps(fragment)).toEqual([
      ['api', 'true'],
      ['key', 'false'],
      ['data', 'true'],
      ['recipient', 'false'],
    ])
    expect(fragment).toContain('Emails would go to <span>a@shop.example</span>, but no SMTP')
    // An export key that expired answers nothing: the step is not done.
    const expiresAt = t.clock.now().epochMilliseconds + 60_000
    await createApiKey(t.data, t.store, 'old', 'export', t.clock, undefined, { expiresAt })
    t.clock.advance({ minutes: 1 })
    await set({ smtp_host: 'smtp.shop.example' })
    expect(steps(await (await hx('/settings/overview')).text())).toEqual([
      ['api', 'true'],
      ['key', 'false'],
      ['data', 'true'],
      ['recipient', 'true'],
    ])
    await createApiKey(t.data, t.store, 'curl', 'export', t.clock)
    expect(steps(await (await hx('/settings/overview')).text())).toEqual([
      ['api', 'true'],
      ['key', 'true'],
      ['data', 'true'],
      ['recipient', 'true'],
    ])
    expect(await page()).not.toContain('class="chart"')
  })

  test('with data, the figures and the chart, revenue on its own axis', async () => {
    await generateDemo(t.data, t.store, 'America/New_York', { days: 20, seed: 7 }, t.clock)
    const html = await page()
    expect(html).not.toContain('data-step=')
    expect(html).toContain('<figure class="chart">')
    const revenueMax = /data-axis="revenue-max"[^>]*>([^<]+)</.exec(html)?.[1]
    expect(revenueMax).toMatch(/^\$\d{1,3}(,\d{3})*$/)
    expect(html).toContain('Last completed period: yesterday, <span>2026-11-25</span>')
  })
})

describe('the sync log', () => {
  test("a successful sync's figures are a click away", async () => {
    await generateDemo(t.data, t.store, 'America/New_York', { days: 3, seed: 7 }, t.clock)
    await set({ api_enabled: 'true' })
    const { secret } = await createApiKey(t.data, t.store, 'curl', 'export', t.clock)
    const res = await t.request('/apiv1/analytics/sync', {
      method: 'POST',
      headers: { 'x-mida-secret-key': secret },
    })
    const body = (await res.json()) as {
      data: { total_sessions: number; total_visitors: number; successful_orders: number }
    }
    const html = await (await hx('/settings/sync-log')).text()
    const details = /<details class="sync-figures">([\s\S]*?)<\/details>/.exec(html)?.[1] ?? ''
    expect(details).toContain('<summary>2026-11-25</summary>')
    const fmt = (n: number) => new Intl.NumberFormat('en-US').format(n)
    expect(details).toContain(`<dt>Sessions</dt><dd>${fmt(body.data.total_sessions)}</dd>`)
    expect(details).toContain(`<dt>Visitors</dt><dd>${fmt(body.data.total_visitors)}</dd>`)
    expect(details).toContain(`<dt>Orders</dt><dd>${fmt(body.data.successful_orders)}</dd>`)
  })
})

describe('the next sync', () => {
  test('daily and weekly, from the saved settings and the clock', async () => {
    await set({ api_enabled: 'true' })
    expect(await page()).toContain('Next sync: Fri 01:00 America/New_York, covering 2026-11-26')
    await set({ sync_frequency: 'weekly' })
    expect(await page()).toContain(
      'Next sync: Mon 01:00 America/New_York, covering 2026-11-23 – 2026-11-29',
    )
    await set({ api_enabled: 'false' })
    expect(await page()).toContain(
      'No scheduled sync while API Status is Deactivated. Once activated, the next: Mon 01:00 America/New_York, covering 2026-11-23 – 2026-11-29',
    )
  })
})
