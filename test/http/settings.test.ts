import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, issueSetupToken, startSession } from '../../src/domain/admins.ts'
import { createApiKey, listApiKeys } from '../../src/domain/keys.ts'
import { RETYPE_SMTP_PASSWORD } from '../../src/domain/mailer.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { createTestApp, type TestApp } from '../utils.ts'

let t: TestApp
let cookie: string
let csrf: string

beforeEach(async () => {
  t = await createTestApp({ settings: { store_email: 'shop@shop.example' } })
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const s = await startSession(t.data, admin.id, t.clock)
  cookie = `mida_session=${s.token}`
  csrf = s.csrfToken
})
afterEach(() => t.close())

const form = (fields: Record<string, string | string[]>) => {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) p.append(k, x)
  return p
}

/** An htmx request of the logged-in admin (CSRF header included unless overridden). */
function hx(path: string, fields?: Record<string, string | string[]>, headers = {}) {
  return t.request(path, {
    method: fields ? 'POST' : 'GET',
    headers: { cookie, 'hx-request': 'true', 'x-csrf-token': csrf, ...headers },
    body: fields ? form(fields) : undefined,
  })
}

const ADMIN_ROUTES: [string, string][] = [
  ['GET', '/settings'],
  ['POST', '/settings'],
  ['GET', '/settings/keys'],
  ['POST', '/settings/keys'],
  ['POST', '/settings/keys/1/regenerate'],
  ['POST', '/settings/keys/1/revoke'],
  ['GET', '/settings/sync-log'],
  ['POST', '/logout'],
]

describe('the admin guard', () => {
  test('every admin route refuses an anonymous request', async () => {
    for (const [method, path] of ADMIN_ROUTES) {
      const plain = await t.request(path, { method })
      if (method === 'GET') {
        expect([path, plain.status, plain.headers.get('location')]).toEqual([
          path,
          303,
          `/login?next=${encodeURIComponent(path)}`,
        ])
      } else {
        expect([path, plain.status]).toEqual([path, 401])
      }
      const viaHtmx = await t.request(path, {
        method,
        headers: { 'hx-request': 'true', 'hx-current-url': 'http://localhost/settings' },
      })
      // htmx gets the re-login dialog in place (the page and its unsaved edits stay).
      expect([
        path,
        viaHtmx.status,
        viaHtmx.headers.get('hx-redirect'),
        viaHtmx.headers.get('hx-retarget'),
        (await viaHtmx.text()).includes('<dialog id="relogin-dialog"'),
      ]).toEqual([path, 401, null, '#relogin', true])
      // A forged or expired cookie is no better.
      const forged = await t.request(path, {
        method,
        headers: { cookie: `mida_session=${'x'.repeat(43)}` },
      })
      expect([path, forged.status]).toEqual([path, method === 'GET' ? 303 : 401])
    }
  })

  test('a state-changing request without the CSRF token (or with a wrong one) is refused', async () => {
    const bodies = { api_enabled: 'true' }
    const without = await t.request('/settings', {
      method: 'POST',
      headers: { cookie, 'hx-request': 'true' },
      body: form(bodies),
    })
    expect(without.status).toBe(403)
    expect(await without.text()).toContain('This form has expired')
    const wrong = await hx('/settings', bodies, { 'x-csrf-token': 'A'.repeat(32) })
    expect(wrong.status).toBe(403)
    const keyWithout = await t.request('/settings/keys', {
      method: 'POST',
      headers: { cookie },
      body: form({ name: 'sneaky' }),
    })
    expect(keyWithout.status).toBe(403)
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(false)
    expect(await listApiKeys(t.data, t.store)).toEqual([])
    // The hidden form field works for plain form posts.
    const plain = await t.request('/settings', {
      method: 'POST',
      headers: { cookie },
      body: form({ ...bodies, _csrf: csrf }),
    })
    expect([plain.status, plain.headers.get('location')]).toEqual([303, '/settings?saved=1'])
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(true)
  })

  test('the page sends its CSRF token from <body> to every htmx request and forbids caching', async () => {
    const res = await t.request('/settings', { headers: { cookie } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const html = await res.text()
    expect(html).toStartWith('<!doctype html><html lang="en">')
    expect(html).toContain(
      `<body hx-headers:inherited="{&#34;X-CSRF-Token&#34;:&#34;${csrf}&#34;}">`,
    )
    expect(html).not.toContain('<script>')
    expect(html).not.toMatch(/ on[a-z]+="/)
  })
})

describe('Save', () => {
  test('only fields changed on the page are written; one changed elsewhere meanwhile is a 409', async () => {
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    const loaded = /name="_loaded" value="([^"]+)"/.exec(page)![1]!.replaceAll('&#34;', '"')
    const rendered = JSON.parse(loaded)
    expect([rendered.store_name, rendered.api_enabled, 'smtp_password' in rendered]).toEqual([
      'My Store',
      'false',
      false,
    ])
    // Elsewhere (the CLI): the API goes on, and the store email changes.
    await updateSettings(
      t.data,
      t.store,
      { api_enabled: 'true', store_email: 'cli@shop.example' },
      t.clock,
    )
    const fields = {
      _loaded: loaded,
      api_enabled: 'false',
      store_name: 'My Store',
      store_email: 'page@shop.example',
      week_start: 'sunday',
    }
    const conflict = await hx('/settings', fields)
    expect(conflict.status).toBe(409)
    const html = await conflict.text()
    expect(html).toContain(
      '<small id="field-store_email-msg" class="field-error" role="alert">was changed elsewhere to &quot;cli@shop.example&quot; while you edited it; Save again to replace it with yours</small>',
    )
    expect(html).toContain('value="page@shop.example"')
    let s = await readSettings(t.data, t.store)
    expect([s.api_enabled, s.store_email, s.week_start]).toEqual([
      true,
      'cli@shop.example',
      'monday',
    ])

    // Saved again from the re-rendered form (its _loaded now the saved values): the page's email
    // and week start win, the API stays on.
    const reloaded = /name="_loaded" value="([^"]+)"/.exec(html)![1]!.replaceAll('&#34;', '"')
    const again = await hx('/settings', { ...fields, _loaded: reloaded, api_enabled: 'true' })
    expect(again.status).toBe(200)
    s = await readSettings(t.data, t.store)
    expect([s.api_enabled, s.store_email, s.week_start]).toEqual([
      true,
      'page@shop.example',
      'sunday',
    ])
  })

  test('saves every field of the form, booleans from the hidden/checkbox pair', async () => {
    const res = await hx('/settings', {
      api_enabled: ['false', 'true'],
      sync_frequency: 'weekly',
      sync_hour: '5',
      notify_success: ['false', 'true'],
      notify_failure: 'false',
      notify_recipient: 'ops@shop.example',
      store_name: 'Shop',
      unknown_field: 'ignored',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('hx-trigger')).toBe('settings-saved')
    const html = await res.text()
    expect(html).toStartWith(
      '<title>Shop · Analytics API Data Export</title><span class="save-ok" role="status">Saved at 06:00:00</span>',
    )
    expect(html).toContain('<hx-partial hx-target="#section-notifications" hx-swap="outerHTML">')
    expect(html).not.toContain('hx-target="#section-api-keys"')
    const s = await readSettings(t.data, t.store)
    expect([
      s.api_enabled,
      s.sync_frequency,
      s.sync_hour,
      s.notify_success,
      s.notify_failure,
    ]).toEqual([true, 'weekly', 5, true, false])
    expect([s.notify_recipient, s.store_name]).toEqual(['ops@shop.example', 'Shop'])
  })

  test('a bad field saves nothing and comes back with what was typed and the error next to it', async () => {
    const res = await hx('/settings', {
      sync_frequency: 'weekly',
      notify_recipient: 'not an email',
      timezone: 'Mars/Olympus',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('2 fields need attention: nothing was saved.')
    expect(html).toContain(
      '<input id="field-notify_recipient" name="notify_recipient" type="email" value="not an email"',
    )
    expect(html).toContain(
      '<small id="field-notify_recipient-msg" class="field-error" role="alert">must be an email address</small>',
    )
    expect(html).toContain('must be an IANA time zone such as America/New_York')
    expect(html).toContain('<option value="weekly" selected>')
    expect((await readSettings(t.data, t.store)).sync_frequency).toBe('daily')
  })

  test('an empty SMTP password field keeps it only for the server and user it was saved with', async () => {
    const SMTP = {
      smtp_host: 'smtp.shop.example',
      smtp_port: 587,
      smtp_security: 'starttls',
      smtp_user: 'me@shop.example',
      smtp_password: 'hunter22',
    }
    await updateSettings(t.data, t.store, SMTP, t.clock)
    const changes: Record<string, string>[] = [
      { smtp_host: 'mail.attacker.example' },
      { smtp_port: '2525' },
      { smtp_security: 'none' },
      { smtp_user: 'other@shop.example' },
    ]
    for (const change of changes) {
      const res = await hx('/settings', { ...change, smtp_password: '', store_name: 'Changed' })
      expect(res.status).toBe(422)
      expect(await res.text()).toContain(
        `<small id="field-smtp_password-msg" class="field-error" role="alert">${RETYPE_SMTP_PASSWORD}</small>`,
      )
      expect(await readSettings(t.data, t.store)).toMatchObject({ ...SMTP, store_name: 'My Store' })
    }
    // The same server (the host in other letters, the port it defaults to): saved.
    const same = { smtp_host: 'SMTP.shop.example', smtp_port: '', smtp_password: '' }
    expect((await hx('/settings', same)).status).toBe(200)
    expect((await readSettings(t.data, t.store)).smtp_password).toBe('hunter22')
    // Another server with the password typed again: saved.
    const moved = { smtp_host: 'smtp.other.example', smtp_password: 'hunter23' }
    expect((await hx('/settings', moved)).status).toBe(200)
    expect(await readSettings(t.data, t.store)).toMatchObject(moved)
    // Without a user name no login happens: a local relay can be saved without the password.
    const relay = { smtp_host: 'localhost', smtp_port: '25', smtp_security: 'none', smtp_user: '' }
    expect((await hx('/settings', relay)).status).toBe(200)
  })

  test('an empty secret field keeps the saved secret; secrets are never sent back', async () => {
    await updateSettings(t.data, t.store, { smtp_password: 'hunter22' }, t.clock)
    expect((await hx('/settings', { smtp_password: '', store_name: 'Shop' })).status).toBe(200)
    expect((await readSettings(t.data, t.store)).smtp_password).toBe('hunter22')
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    expect(page).not.toContain('hunter22')
  })

  test('the recipient field shows the store email as its default', async () => {
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    expect(page).toContain('placeholder="shop@shop.example"')
    expect(page).toContain('Notify me when data sync is successful')
    expect(page).toContain('<option value="daily" selected>Daily – previous day</option>')
    expect(page).toContain('<option value="weekly">Weekly – previous week</option>')
  })
})

describe('API keys', () => {
  test('a generated key is shown once, with the cURL command, and works', async () => {
    await updateSettings(t.data, t.store, { api_enabled: 'true' }, t.clock)
    const res = await hx('/settings/keys', { name: 'Looker Studio', scope: 'export' })
    expect(res.status).toBe(200)
    const html = await res.text()
    const key = /id="new-key-value" class="secret">(mida_sk_[0-9A-Za-z]+)</.exec(html)?.[1]
    expect(key).toBeDefined()
    expect(html).toContain(
      `curl -X POST ${t.config.baseUrl}/apiv1/analytics/sync -H &quot;Content-Type: application/json&quot; -H &quot;x-mida-secret-key: ${key}&quot;`,
    )
    const sync = await t.request('/apiv1/analytics/sync', {
      method: 'POST',
      headers: { 'x-mida-secret-key': key! },
    })
    expect(sync.status).toBe(200)
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    expect(page).not.toContain(key!)
    expect(page).toContain(`${key!.slice(0, 12)}…`)
  })

  test('a refused name keeps what was typed and says why', async () => {
    await createApiKey(t.data, t.store, 'Looker', 'export', t.clock)
    const res = await hx('/settings/keys', { name: 'Looker', scope: 'ingest' })
    expect(res.status).toBe(409)
    const html = await res.text()
    expect(html).toContain('value="Looker"')
    expect(html).toContain('<option value="ingest" selected>')
    expect(html).toContain('An active key named &quot;Looker&quot; already exists')
    const empty = await hx('/settings/keys', { name: '  ' })
    expect(empty.status).toBe(422)
    expect(await empty.text()).toContain('name must not be empty')
  })

  test('regenerate: the old key is refused, the new one accepted; revoke removes the key', async () => {
    await updateSettings(t.data, t.store, { api_enabled: 'true' }, t.clock)
    const old = await createApiKey(t.data, t.store, 'Looker', 'export', t.clock)
    const res = await hx(`/settings/keys/${old.key.id}/regenerate`, {})
    expect(res.status).toBe(200)
    const fresh = /id="new-key-value" class="secret">(mida_sk_[0-9A-Za-z]+)</.exec(
      await res.text(),
    )?.[1]
    const sync = (k: string) =>
      t.request('/apiv1/analytics/sync', { method: 'POST', headers: { 'x-mida-secret-key': k } })
    expect((await sync(old.secret)).status).toBe(401)
    expect((await sync(fresh!)).status).toBe(200)

    const active = (await listApiKeys(t.data, t.store)).find((k) => k.revokedAt === null)!
    const revoked = await hx(`/settings/keys/${active.id}/revoke`, {})
    expect(revoked.status).toBe(200)
    // The answer keeps the revoked key's row, marked and without buttons, so the list stays put;
    // the next look at the list has no active key.
    const answer = await revoked.text()
    expect(answer).toContain(`<tr id="key-${active.id}" class="revoked">`)
    expect(answer).toContain('<span class="revoked-note">Revoked</span>')
    expect(answer).not.toContain(`/settings/keys/${active.id}/`)
    expect(await (await hx('/settings/keys')).text()).toContain('No active keys yet.')
    expect((await sync(fresh!)).status).toBe(401)
    const again = await hx(`/settings/keys/${active.id}/revoke`, {})
    expect(again.status).toBe(409)
    expect((await hx('/settings/keys/999/revoke', {})).status).toBe(404)
  })

  test('a key name and a store name containing HTML are shown as text', async () => {
    await updateSettings(t.data, t.store, { store_name: '<script>alert(1)</script>' }, t.clock)
    const quoted = await hx('/settings', { store_name: 'A "quoted" &amp; name' })
    expect(await quoted.text()).toContain('value="A &#34;quoted&#34; &amp;amp; name"')
    await updateSettings(t.data, t.store, { store_name: '<script>alert(1)</script>' }, t.clock)
    await createApiKey(t.data, t.store, '<img src=x onerror=alert(2)>', 'export', t.clock)
    const html = await (await t.request('/settings', { headers: { cookie } })).text()
    // In text, < is escaped; inside a quoted attribute (the input's value, the confirm text) it is
    // inert, and the quote itself is escaped.
    const outsideAttributes = html.replace(/="[^"]*"/g, '=""')
    expect(outsideAttributes).not.toContain('<script>alert')
    expect(outsideAttributes).not.toContain('<img src=x')
    expect(html).toContain(
      '<small id="topbar-store-name">&lt;script&gt;alert(1)&lt;/script&gt;</small>',
    )
    expect(html).toContain(
      '<td class="key-name" data-label="Name">&lt;img src=x onerror=alert(2)&gt;</td>',
    )
    expect(html).toContain('value="<script>alert(1)</script>"')
  })
})

describe('login, logout and setup', () => {
  async function loginForm() {
    const res = await t.request('/login')
    const csrfField = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!
    return { csrfField, cookie: res.headers.get('set-cookie')!.split(';')[0]! }
  }
  async function login(password: string, next = '/settings', headers: Record<string, string> = {}) {
    const f = await loginForm()
    return t.request('/login', {
      method: 'POST',
      headers: { cookie: f.cookie, ...headers },
      body: form({ _csrf: f.csrfField, email: 'me@shop.example', password, next }),
    })
  }

  test('the re-login dialog (htmx): a failure answers the dialog again, a success the new CSRF token', async () => {
    // The 401 of an htmx request brings the dialog with its own login CSRF cookie.
    const refused = await t.request('/settings', {
      method: 'POST',
      headers: { 'hx-request': 'true' },
      body: form({ store_name: 'x' }),
    })
    const dialog = await refused.text()
    const csrfField = /name="_csrf" value="([^"]+)"/.exec(dialog)![1]!
    const loginCookie = refused.headers.get('set-cookie')!.split(';')[0]!
    expect(loginCookie).toBe(`mida_login_csrf=${csrfField}`)
    const relogin = (password: string, cookieHeader = loginCookie) =>
      t.request('/login', {
        method: 'POST',
        headers: { cookie: cookieHeader, 'hx-request': 'true' },
        body: form({ _csrf: csrfField, email: 'me@shop.example', password }),
      })
    const wrong = await relogin('wrong password')
    expect([wrong.status, wrong.headers.get('hx-retarget'), wrong.headers.get('location')]).toEqual(
      [401, '#relogin', null],
    )
    const wrongHtml = await wrong.text()
    expect(wrongHtml).toStartWith('<dialog id="relogin-dialog"')
    expect(wrongHtml).toContain(
      '<p class="error" role="alert" id="relogin-error">Wrong email or password.</p>',
    )
    expect((await relogin('a good password', 'mida_login_csrf=other')).status).toBe(403)

    const ok = await relogin('a good password')
    expect([ok.status, await ok.text(), ok.headers.get('location')]).toEqual([200, '', null])
    const renewed = JSON.parse(ok.headers.get('hx-trigger')!)['session-renewed']
    const session = ok.headers.getSetCookie().find((c) => c.startsWith('mida_session='))!
    // The token works with the new session for the refused Save.
    const saved = await t.request('/settings', {
      method: 'POST',
      headers: {
        cookie: session.split(';')[0]!,
        'hx-request': 'true',
        'x-csrf-token': renewed.csrfToken,
      },
      body: form({ store_name: 'Saved after re-login' }),
    })
    expect([renewed.target, saved.status]).toEqual(['body', 200])
    expect((await readSettings(t.data, t.store)).store_name).toBe('Saved after re-login')
  })

  test('logs in with a session cookie, returns to a same-site path only, logs out', async () => {
    const ok = await login('a good password', '/settings#section-store')
    expect(ok.status).toBe(303)
    expect(ok.headers.get('location')).toBe('/settings#section-store')
    const session = ok.headers.getSetCookie().find((c) => c.startsWith('mida_session='))!
    expect(session).toMatch(
      /^mida_session=[0-9A-Za-z]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=604800$/,
    )
    const sessionCookie = session.split(';')[0]!
    expect((await login('a good password', '//evil.example/')).headers.get('location')).toBe(
      '/settings',
    )

    const logoutPage = await t.request('/settings', { headers: { cookie: sessionCookie } })
    const token = /X-CSRF-Token&#34;:&#34;([0-9A-Za-z]+)&#34;/.exec(await logoutPage.text())![1]!
    const out = await t.request('/logout', {
      method: 'POST',
      headers: { cookie: sessionCookie },
      body: form({ _csrf: token }),
    })
    expect([out.status, out.headers.get('location')]).toEqual([303, '/login?logged_out=1'])
    expect(out.headers.get('set-cookie')).toStartWith(
      'mida_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0',
    )
    expect((await t.request('/settings', { headers: { cookie: sessionCookie } })).status).toBe(303)
  })

  test('wrong passwords are throttled per address after five attempts', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await login('wrong password')
      expect(res.status).toBe(401)
      expect(await res.text()).toContain('Wrong email or password.')
    }
    const blocked = await login('a good password')
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toBe('900')
    expect(await blocked.text()).toContain('Too many failed logins. Try again in 15 minutes.')
    t.clock.advance({ minutes: 15 })
    expect((await login('a good password')).status).toBe(303)
  })

  test('the login form needs its own CSRF pair', async () => {
    const res = await t.request('/login', {
      method: 'POST',
      body: form({ email: 'me@shop.example', password: 'a good password' }),
    })
    expect(res.status).toBe(403)
    expect(res.headers.getSetCookie().some((c) => c.startsWith('mida_session='))).toBe(false)
  })

  test('cookies are Secure when the public URL is https', async () => {
    const secure = await createTestApp({ env: { MIDA_BASE_URL: 'https://shop.example' } })
    try {
      const res = await secure.request('/login')
      expect(res.headers.get('set-cookie')).toEndWith('; Secure')
    } finally {
      secure.close()
    }
  })

  test('a setup link creates the first admin once, then says so', async () => {
    const fresh = await createTestApp()
    try {
      const { token } = await issueSetupToken(fresh.data, fresh.clock)
      expect((await fresh.request(`/setup?token=${token}`)).status).toBe(200)
      const mismatch = await fresh.request('/setup', {
        method: 'POST',
        body: form({
          token,
          email: 'a@shop.example',
          password: 'long enough',
          password_confirm: 'other',
        }),
      })
      expect(mismatch.status).toBe(422)
      expect(await mismatch.text()).toContain('does not match the password')
      const res = await fresh.request('/setup', {
        method: 'POST',
        body: form({
          token,
          email: 'a@shop.example',
          password: 'long enough',
          password_confirm: 'long enough',
        }),
      })
      expect([res.status, res.headers.get('location')]).toEqual([303, '/settings'])
      expect(res.headers.get('set-cookie')).toStartWith('mida_session=')
      const reused = await fresh.request(`/setup?token=${token}`)
      expect(reused.status).toBe(410)
      expect(await reused.text()).toContain('An admin already exists. Log in instead.')
    } finally {
      fresh.close()
    }
  })
})

describe('assets', () => {
  test('htmx 4, Pico CSS and the app script are served from the binary, cacheable by hash', async () => {
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    const htmxUrl = /src="(\/assets\/htmx\.min\.js\?v=[\w-]+)"/.exec(page)![1]!
    const res = await t.request(htmxUrl)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(await res.text()).toContain('4.0.1')
    const pico = await t.request('/assets/pico.min.css')
    expect(pico.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate')
    expect((await pico.text()).length).toBeGreaterThan(50_000)
    expect((await t.request('/assets/nope.js')).status).toBe(404)
  })
})
