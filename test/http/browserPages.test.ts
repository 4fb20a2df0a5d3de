import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

// What a browser gets at an address with no page (a typo, GET /logout), over a real server: an
// HTML page with a way back; the API and clients that do not ask for HTML keep the JSON shape.

/** What Chromium sends for a typed address or a followed link. */
const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
let session: { token: string; csrfToken: string }

beforeEach(async () => {
  t = await createTestApp()
  server = listen(t.app)
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  session = await startSession(t.data, admin.id, t.clock)
})
afterEach(async () => {
  await server.stop()
  t.close()
})

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(server.url + path, { redirect: 'manual', headers })

describe('an address with no page', () => {
  test('a browser gets a 404 page that leads to the settings page', async () => {
    const cookie = `mida_session=${session.token}`
    // A typo, and (logged in) a settings path that only takes a POST.
    for (const [path, headers] of [
      ['/nowhere', {}],
      ['/favicon.ico/x?y=1', {}],
      ['/settings/keys/1/revoke', { cookie }],
    ] as const) {
      const res = await get(path, { accept: BROWSER_ACCEPT, ...headers })
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      // The security headers stay on an error page.
      expect(res.headers.get('content-security-policy')).toStartWith("default-src 'none'")
      const page = await res.text()
      expect(page).toStartWith('<!doctype html><html lang="en">')
      expect(page).toContain('<title>Page not found · mida-export</title>')
      expect(page).toContain('<h1>Page not found</h1>')
      expect(page).toContain('<p>There is no page at this address.</p>')
      expect(page).toContain('<a href="/settings">Go to the settings page</a>')
    }
  })

  test('the API, and clients that do not ask for HTML, keep the JSON answer', async () => {
    const json = '{"success":false,"error":"Not found"}'
    for (const [path, accept] of [
      ['/apiv1/nowhere', BROWSER_ACCEPT],
      ['/apiv1/analytics/sync', BROWSER_ACCEPT], // GET of a POST-only API route
      ['/nowhere', 'application/json'],
      ['/nowhere', '*/*'],
      ['/nowhere', undefined],
    ] as const) {
      const res = await get(path, accept ? { accept } : {})
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(await res.text()).toBe(json)
    }
  })

  test('htmx keeps its fragment', async () => {
    const res = await get('/nowhere', { accept: BROWSER_ACCEPT, 'hx-request': 'true' })
    expect(res.status).toBe(404)
    expect(await res.text()).toBe('<p class="error" role="alert">Not found</p>')
  })

  test('other refusals a browser meets are pages too, with the message', async () => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: {
        accept: BROWSER_ACCEPT,
        'content-type': 'multipart/form-data; boundary=nothing-matches',
      },
      body: 'not multipart at all',
    })
    expect(res.status).toBe(400)
    const page = await res.text()
    expect(page).toContain('<h1>Request refused</h1>')
    expect(page).toContain('<p>Body is not valid</p>')
  })
})

describe('GET /logout', () => {
  test('logged in: a page whose Log out button posts the CSRF token, which logs out', async () => {
    const cookie = `mida_session=${session.token}`
    const res = await get('/logout', { accept: BROWSER_ACCEPT, cookie })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const page = await res.text()
    expect(page).toContain('<title>Log out · mida-export</title>')
    expect(page).toContain('Logged in as <strong>me@shop.example</strong>.')
    const form = /<form method="post" action="\/logout">(.*?)<\/form>/.exec(page)?.[1]
    expect(form).toBe(
      `<input type="hidden" name="_csrf" value="${session.csrfToken}"/><button type="submit">Log out</button>`,
    )
    // The GET itself logged nobody out.
    expect((await get('/settings', { cookie })).status).toBe(200)
    // The button's post does.
    const out = await fetch(`${server.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: session.csrfToken }),
    })
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toBe('/login?logged_out=1')
    expect((await get('/settings', { cookie })).headers.get('location')).toBe(
      '/login?next=%2Fsettings',
    )
  })

  test('not logged in (or a stale cookie): to the login page', async () => {
    const variants: Record<string, string>[] = [
      { accept: BROWSER_ACCEPT },
      { accept: BROWSER_ACCEPT, cookie: 'mida_session=gone' },
    ]
    for (const headers of variants) {
      const res = await get('/logout', headers)
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/login')
    }
  })
})
