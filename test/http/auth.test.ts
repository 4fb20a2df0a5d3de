import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { safeNext } from '../../src/http/auth.ts'
import { createTestApp, type TestApp } from '../utils.ts'

let t: TestApp
let cookie: string

beforeEach(async () => {
  t = await createTestApp()
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  cookie = `mida_session=${(await startSession(t.data, admin.id, t.clock)).token}`
})
afterEach(() => t.close())

/** Logs in through the form (its CSRF cookie and field), asking to go to `next`. */
async function login(next: string, password = 'a good password') {
  const page = await t.request(`/login?next=${encodeURIComponent(next)}`)
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
  return t.request('/login', {
    method: 'POST',
    headers: { cookie: page.headers.get('set-cookie')!.split(';')[0]! },
    body: new URLSearchParams({ _csrf: csrf, email: 'me@shop.example', password, next }),
  })
}

describe('where a login returns to (next)', () => {
  test('a path on this server, as the browser resolves it', () => {
    expect(safeNext('/settings')).toBe('/settings')
    expect(safeNext('/settings?x=1&y=2#section-api-keys')).toBe(
      '/settings?x=1&y=2#section-api-keys',
    )
    expect(safeNext('/a/../settings')).toBe('/settings')
    expect(safeNext('/caf\u00e9')).toBe('/caf%C3%A9')
  })

  test('anything a browser would take to another site becomes /settings', () => {
    for (const next of [
      '//evil.example',
      '/\\evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      '/\r\n/evil.example',
      '\t//evil.example',
      'https://evil.example/',
      'evil.example',
      '',
      undefined,
      42,
    ]) {
      expect(safeNext(next)).toBe('/settings')
    }
  })

  test('GET /login of a logged-in admin never redirects off-site, nor fails', async () => {
    for (const [next, location] of [
      ['/%09/evil.example', '/settings'],
      ['/%0a/evil.example', '/settings'],
      ['/%0d%0a/evil.example', '/settings'],
      ['/%E2%82%AC', '/%E2%82%AC'],
      ['/settings%23section-store', '/settings#section-store'],
    ] as const) {
      const res = await t.request(`/login?next=${next}`, { headers: { cookie } })
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe(location)
    }
  })

  test('POST /login with a tab-smuggled next goes to /settings', async () => {
    const res = await login('/\t/evil.example')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/settings')
  })

  test('the login form keeps next and the typed email byte for byte (& escaped too)', async () => {
    const page = await t.request(`/login?next=${encodeURIComponent('/settings?a=&amp;')}`)
    expect(await page.text()).toContain(
      '<input type="hidden" name="next" value="/settings?a=&amp;amp;"/>',
    )
    const res = await login('/settings', 'wrong password')
    expect(res.status).toBe(401)
    const failed = await t.request('/login', {
      method: 'POST',
      headers: { cookie: 'mida_login_csrf=x' },
      body: new URLSearchParams({ _csrf: 'x', email: 'a&amp;b@shop.example', password: 'nope' }),
    })
    expect(failed.status).toBe(401)
    expect(await failed.text()).toContain('value="a&amp;amp;b@shop.example"')
  })
})

describe('cookies read through Elysia', () => {
  test('the session cookie, percent-encoded or among others, is the session', async () => {
    const token = cookie.slice('mida_session='.length)
    for (const header of [
      cookie,
      `a=1; ${cookie}; b=2`,
      `mida_session=${encodeURIComponent(token)}`,
    ]) {
      const res = await t.request('/logout', { headers: { cookie: header } })
      expect({ header, status: res.status, cookie: res.headers.get('set-cookie') }).toEqual({
        header,
        status: 200,
        cookie: null,
      })
    }
  })

  test('a session cookie that is not a token is no session, never an error', async () => {
    for (const header of [
      'mida_session={"token":"x"}',
      'mida_session=[1,2]',
      'mida_session=%E0%A4%A',
      'mida_session=',
      'mida_session',
    ]) {
      const page = await t.request('/logout', { headers: { cookie: header } })
      const settings = await t.request('/settings', { headers: { cookie: header } })
      expect({ header, page: page.status, settings: settings.status }).toEqual({
        header,
        page: 303,
        settings: 303,
      })
      expect(settings.headers.get('location')).toBe('/login?next=%2Fsettings')
    }
  })

  test('a login form whose CSRF cookie Elysia reads as JSON is refused as expired', async () => {
    const page = await t.request('/login')
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
    const res = await t.request('/login', {
      method: 'POST',
      headers: { cookie: `mida_login_csrf={"a":"${csrf}"}` },
      body: new URLSearchParams({ _csrf: csrf, email: 'me@shop.example', password: 'x' }),
    })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('The login form expired. Please try again.')
  })
})
