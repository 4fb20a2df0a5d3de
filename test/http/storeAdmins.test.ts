// Admins limited to some stores, tried against the real server with real requests: a login
// through the form, the session cookie and the page's CSRF token on every state-changing request.
// A limited admin gets 404 on another store's pages, fragments and actions (403 for "Add store")
// and never sees another store's name, slug, tracking id, keys or figures.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import { recentAudit } from '../../src/domain/audit.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createApiKey, listApiKeys } from '../../src/domain/keys.ts'
import { recentOutbox } from '../../src/domain/notifications.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { createStore, deleteStore, listStores, type Store } from '../../src/domain/stores.ts'
import { runCli } from '../../src/main.ts'
import {
  captureIo,
  createTestApp,
  engineEnv,
  listen,
  onPostgres,
  type TestApp,
  tempDir,
} from '../utils.ts'

const NOW = '2026-11-26T06:00:00Z'
const PASSWORD = 'a good password'
const LIMITED = 'alice@alpha.example'
const BOSS = 'boss@every.example'
const B_SLUG = 'bravo-secret'
const B_NAME = 'Bravo Secret Shop'
/** B's last completed day (2026-11-25 in Zurich): 1,357 sessions, 98,765.43 CHF of orders. */
const B_SESSIONS = 1357
const B_REVENUE = ['98,765.43', '98765.43']
/** B's reporting client, and a client of B's that calls with a key that opens nothing. */
const B_CLIENT = '198.51.100.78'
const B_CLIENT_WRONG_KEY = '198.51.100.77'

/** What one request answered. */
interface Answer {
  status: number
  location: string | null
  body: string
}

/** A logged-in browser: its session cookie and the CSRF token its pages carry. */
class Browser {
  /** Every answer this browser got, to look for another store's strings in. */
  readonly answers: { request: string; body: string }[] = []

  constructor(
    readonly base: string,
    readonly cookie: string,
    readonly csrf: string,
  ) {}

  private async send(method: string, path: string, init: RequestInit): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, { ...init, method, redirect: 'manual' })
    const answer = {
      status: res.status,
      location: res.headers.get('location'),
      body: await res.text(),
    }
    this.answers.push({ request: `${method} ${path}`, body: answer.body })
    return answer
  }

  /** A GET as a page, or as htmx asks for a fragment. */
  get(path: string, htmx = false): Promise<Answer> {
    const headers: Record<string, string> = { cookie: this.cookie }
    if (htmx) headers['hx-request'] = 'true'
    return this.send('GET', path, { headers })
  }

  /**
   * A form post with the session's CSRF token (the `_csrf` field, and the header htmx sends),
   * or, with `csrf: false`, without any.
   */
  post(
    method: string,
    path: string,
    fields: Record<string, string> = {},
    options: { htmx?: boolean; csrf?: boolean } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { cookie: this.cookie }
    const body = new URLSearchParams(fields)
    if (options.csrf !== false) {
      headers['x-csrf-token'] = this.csrf
      body.set('_csrf', this.csrf)
    }
    if (options.htmx) headers['hx-request'] = 'true'
    return this.send(method, path, { headers, body })
  }
}

/** Logs in through the real /login form (its CSRF cookie and field); the page's CSRF token. */
async function logIn(base: string, email: string, password = PASSWORD): Promise<Browser> {
  const form = await fetch(`${base}/login`)
  const loginCsrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1]
  const loginCookie = form.headers.get('set-cookie')?.split(';')[0]
  expect(loginCsrf).toBeString()
  expect(loginCookie).toStartWith('mida_login_csrf=')
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: loginCookie as string },
    body: new URLSearchParams({ _csrf: loginCsrf as string, email, password, next: '/stores' }),
  })
  expect(res.status).toBe(303)
  const session = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('mida_session='))
    ?.split(';')[0]
  expect(session).toBeString()
  // /stores answers any admin (even one who sees no store); its forms carry the CSRF token.
  const page = await fetch(`${base}/stores`, { headers: { cookie: session as string } })
  expect(page.status).toBe(200)
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1]
  expect(csrf).toBeString()
  return new Browser(base, session as string, csrf as string)
}

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
let a: Store
let b: Store
/** B's key secrets and display prefixes. */
let bKeys: { ingest: string; export: string; prefixes: string[]; ids: number[] }
let aKeyId: number

beforeEach(async () => {
  // Behind one proxy: each test client's address is the X-Forwarded-For it sends.
  t = await createTestApp({ now: NOW, env: { MIDA_TRUST_PROXY: 'true' } })
  a = t.store
  await updateSettings(
    t.data,
    a,
    { store_name: 'Alpha Shop', timezone: 'America/New_York', currency: 'USD' },
    t.clock,
  )
  const by = { actor: 'test', address: null }
  b = await createStore(
    t.data,
    { slug: B_SLUG, name: B_NAME, timezone: 'Europe/Zurich', currency: 'CHF' },
    t.clock,
    by,
  )
  await updateSettings(
    t.data,
    b,
    { api_enabled: 'true', store_email: 'orders@bravo-mailbox.example' },
    t.clock,
  )
  const ingest = await createApiKey(t.data, b, 'Bravo Warehouse Key', 'ingest', t.clock)
  const exported = await createApiKey(t.data, b, 'Bravo Looker Key', 'export', t.clock)
  bKeys = {
    ingest: ingest.secret,
    export: exported.secret,
    prefixes: [ingest.key.prefix, exported.key.prefix],
    ids: [ingest.key.id, exported.key.id],
  }
  aKeyId = (await createApiKey(t.data, a, 'Alpha Sheets', 'export', t.clock)).key.id
  await createOrResetAdmin(t.data, LIMITED, PASSWORD, t.clock, undefined, [a.id])
  await createOrResetAdmin(t.data, BOSS, PASSWORD, t.clock, undefined, 'all')
  server = listen(t.app)
  await importBravoDay()
  await callSync(B_CLIENT, bKeys.export, 200)
  await callSync(B_CLIENT_WRONG_KEY, `mida_sk_${'x'.repeat(38)}`, 401)
})

/** A call of the real sync API from `address` (through the proxy) with `key`. */
async function callSync(address: string, key: string, expected: number) {
  const res = await fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'x-mida-secret-key': key, 'x-forwarded-for': address },
  })
  expect({ address, status: res.status }).toEqual({ address, status: expected })
}

afterEach(async () => {
  await server.stop()
  t.close()
})

/** B's figures, through the real import API with B's ingest key. */
async function importBravoDay() {
  const sessions = Array.from({ length: B_SESSIONS }, (_, i) =>
    JSON.stringify({
      id: `bravo-s-${i}`,
      visitor_id: `bravo-v-${i}`,
      started_at: '2026-11-25T12:00:00Z',
    }),
  )
  const orders = [
    ['bravo-o-1', '90000.00'],
    ['bravo-o-2', '8000.00'],
    ['bravo-o-3', '765.43'],
  ].map(([id, total]) =>
    JSON.stringify({
      id,
      created_at: '2026-11-25T13:00:00Z',
      total_price: total,
      currency: 'CHF',
      financial_status: 'paid',
    }),
  )
  for (const [kind, lines] of [
    ['sessions', sessions],
    ['orders', orders],
  ] as const) {
    const res = await fetch(`${server.url}/apiv1/import/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'x-mida-secret-key': bKeys.ingest },
      body: `${lines.join('\n')}\n`,
    })
    expect({ kind, status: res.status }).toEqual({ kind, status: 200 })
  }
}

/** Every string that would tell a limited admin of A something about B. */
function bravoStrings(): string[] {
  return [
    B_NAME,
    B_SLUG,
    'bravo',
    'Bravo',
    b.trackingId,
    ...bKeys.prefixes,
    'orders@bravo-mailbox.example',
    B_CLIENT,
    B_CLIENT_WRONG_KEY,
    ...B_REVENUE,
    '1,357',
  ]
}

/** The B strings found in any answer `browser` got, with the request that got them. */
function leaks(browser: Browser): { request: string; found: string[] }[] {
  const strings = bravoStrings()
  return browser.answers
    .map(({ request, body }) => ({ request, found: strings.filter((s) => body.includes(s)) }))
    .filter((l) => l.found.length > 0)
}

/** The app's routes of one store (`/stores/:slug…`): a route added later is covered too. */
function storeRoutes(): { method: string; path: string }[] {
  const routes = t.app.routes
    .filter((r) => r.path === '/stores/:slug' || r.path.startsWith('/stores/:slug/'))
    .map((r) => ({ method: r.method, path: r.path }))
  // The enumeration finds what the task names, so it is not vacuous.
  const names = routes.map((r) => `${r.method} ${r.path}`)
  for (const expected of [
    'GET /stores/:slug',
    'GET /stores/:slug/settings',
    'POST /stores/:slug/settings',
    'GET /stores/:slug/settings/keys',
    'POST /stores/:slug/settings/keys',
    'POST /stores/:slug/settings/keys/:id/regenerate',
    'POST /stores/:slug/settings/keys/:id/revoke',
    'GET /stores/:slug/settings/sync-log',
    'GET /stores/:slug/settings/audit',
    'GET /stores/:slug/settings/tracking/today',
    'GET /stores/:slug/settings/notifications/outbox',
    'POST /stores/:slug/settings/notifications/test',
    'GET /stores/:slug/settings/overview',
    'GET /stores/:slug/settings/keys/api-state',
    'POST /stores/:slug/settings/api/activate',
    'POST /stores/:slug/settings/keys/test',
  ]) {
    expect(names).toContain(expected)
  }
  return routes
}

/** A route's path with its parameters filled in; an unknown parameter fails the test. */
function fill(path: string, slug: string, keyId: number): string {
  const filled = path.replace(':slug', slug).replace(':id', String(keyId))
  expect(filled).not.toContain(':')
  return filled
}

/**
 * What every action would change if it ran: a Save's fields, a key's name and scope, a key to
 * test, an SMTP server and recipient to send a test email to.
 */
const ACTION_FIELDS = {
  store_name: 'Taken over by Alice',
  timezone: 'Asia/Tokyo',
  api_enabled: 'false',
  name: 'Intruder',
  scope: 'ingest',
  smtp_host: '127.0.0.1',
  smtp_port: '2525',
  notify_recipient: LIMITED,
}

/** All there is of B: settings, keys, audit entries, outbox, and the stores themselves. */
async function bravoState() {
  return {
    settings: await readSettings(t.data, b),
    keys: await listApiKeys(t.data, b),
    audit: await recentAudit(t.data, b, 1000, false),
    outbox: await recentOutbox(t.data, b, 1000),
    stores: await listStores(t.data),
  }
}

/** The store switcher's entries (slugs) in a page, or null when the page has none. */
function switcherSlugs(html: string): string[] | null {
  const menu = /<details class="dropdown store-switcher"[\s\S]*?<\/details>/.exec(html)?.[0]
  if (!menu) return null
  return [...menu.matchAll(/href="\/stores\/([^/"]+)\/settings"/g)].map((m) => m[1] as string)
}

/** The slugs of the rows of /stores. */
function storeRows(html: string): string[] {
  return [...html.matchAll(/<tr id="store-([^"]+)"/g)].map((m) => m[1] as string)
}

describe("a limited admin on another store's pages, fragments and actions", () => {
  test("every GET under /stores/<B> is 404, as a page and as a fragment, while A's answer", async () => {
    const alice = await logIn(server.url, LIMITED)
    const gets = storeRoutes().filter((r) => r.method === 'GET')
    const statuses: Record<string, number[]> = {}
    for (const r of gets) {
      const path = fill(r.path, B_SLUG, bKeys.ids[0] as number)
      statuses[path] = [(await alice.get(path)).status, (await alice.get(path, true)).status]
    }
    expect(statuses).toEqual(Object.fromEntries(Object.keys(statuses).map((p) => [p, [404, 404]])))
    // The same routes of A answer her (a page 200 or a redirect to it, a fragment 200), so the
    // 404s above are B's, not the routes'.
    for (const r of gets) {
      const path = fill(r.path, a.slug, aKeyId)
      const page = await alice.get(path)
      const fragment = await alice.get(path, true)
      expect({ path, page: [200, 303].includes(page.status), fragment: fragment.status }).toEqual({
        path,
        page: true,
        fragment: r.path === '/stores/:slug' ? 303 : 200,
      })
    }
    // Other spellings of B's address are no way in either.
    for (const path of [
      `/stores/${B_SLUG}/settings/`,
      `/stores/${B_SLUG.toUpperCase()}/settings`,
      '/stores/bravo%2Dsecret/settings',
      `/stores/${B_SLUG}/settings?store=${a.slug}`,
      `/stores/${B_SLUG}/./settings`,
      `/stores/${a.slug}/../${B_SLUG}/settings`,
    ]) {
      const answer = await alice.get(path, true)
      expect({ path, status: answer.status }).toEqual({ path, status: 404 })
    }
    // A store that does not exist answers the same: the 404 tells nothing of B.
    const missing = await alice.get('/stores/no-such-store/settings')
    const forbidden = await alice.get(`/stores/${B_SLUG}/settings`)
    expect(forbidden.status).toBe(404)
    expect(forbidden.body).toBe(missing.body)
    expect(leaks(alice)).toEqual([])
  })

  test('every action under /stores/<B> is 404 with the CSRF token (403 without) and changes nothing of B', async () => {
    const alice = await logIn(server.url, LIMITED)
    const before = await bravoState()
    const posts = storeRoutes().filter((r) => r.method !== 'GET')
    expect(posts.length).toBeGreaterThanOrEqual(7)
    const answers: Record<string, number[]> = {}
    for (const r of posts) {
      for (const keyId of bKeys.ids) {
        const path = fill(r.path, B_SLUG, keyId)
        const fields = { ...ACTION_FIELDS, key: bKeys.export }
        answers[path] = [
          (await alice.post(r.method, path, fields, { csrf: false })).status,
          (await alice.post(r.method, path, fields)).status,
          (await alice.post(r.method, path, fields, { htmx: true })).status,
        ]
      }
    }
    expect(answers).toEqual(
      Object.fromEntries(Object.keys(answers).map((p) => [p, [403, 404, 404]])),
    )
    expect(await bravoState()).toEqual(before)
    expect(leaks(alice)).toEqual([])
  })

  test("B's keys by id through A's addresses (/stores/<A>/… and /settings/…) are 404 and stay as they were", async () => {
    const alice = await logIn(server.url, LIMITED)
    const before = await bravoState()
    const answers: Record<string, number> = {}
    for (const base of [`/stores/${a.slug}`, '']) {
      for (const id of bKeys.ids) {
        for (const action of ['regenerate', 'revoke']) {
          const path = `${base}/settings/keys/${id}/${action}`
          answers[path] = (await alice.post('POST', path, {}, { htmx: true })).status
        }
      }
    }
    expect(Object.values(answers)).toEqual(Array(8).fill(404))
    expect(await bravoState()).toEqual(before)
    // Her token works: the same action on A's own key does what it says.
    const own = await alice.post('POST', `/settings/keys/${aKeyId}/revoke`, {}, { htmx: true })
    expect(own.status).toBe(200)
    expect((await listApiKeys(t.data, a)).find((k) => k.id === aKeyId)?.revokedAt).toBeNumber()
    expect(leaks(alice)).toEqual([])
  })

  test('GET /stores/<B> is 404 and "Add store" is 403, creating nothing', async () => {
    const alice = await logIn(server.url, LIMITED)
    expect((await alice.get(`/stores/${B_SLUG}`)).status).toBe(404)
    const added = await alice.post('POST', '/stores', {
      slug: 'alice-own',
      name: 'Alice Own',
      timezone: 'Europe/Berlin',
      currency: 'EUR',
    })
    expect(added.status).toBe(403)
    expect((await listStores(t.data)).map((s) => s.slug)).toEqual([a.slug, B_SLUG])
    // Her /stores has no "Add store" form either.
    expect((await alice.get('/stores')).body).not.toContain('id="add-store"')
    expect(leaks(alice)).toEqual([])
  })
})

describe('what a limited admin sees of her own store', () => {
  test("none of A's pages, fragments, answers, /stores nor /settings names B or shows its figures", async () => {
    const alice = await logIn(server.url, LIMITED)
    const gets = storeRoutes().filter((r) => r.method === 'GET')
    for (const r of gets) {
      for (const path of [
        fill(r.path, a.slug, aKeyId),
        fill(r.path.slice('/stores/:slug'.length) || '/settings', a.slug, aKeyId),
      ]) {
        await alice.get(path)
        await alice.get(path, true)
      }
    }
    for (const path of ['/', '/stores', '/settings', '/logout', '/login']) await alice.get(path)
    // Her actions' answers on A, page and fragment.
    for (const base of [`/stores/${a.slug}`, '']) {
      await alice.post('POST', `${base}/settings`, { store_email: 'desk@alpha.example' })
      await alice.post(
        'POST',
        `${base}/settings`,
        { store_email: 'desk2@alpha.example' },
        { htmx: true },
      )
      await alice.post('POST', `${base}/settings`, { timezone: 'Not/AZone' }, { htmx: true })
      await alice.post(
        'POST',
        `${base}/settings/keys`,
        { name: `Key ${base.length}`, scope: 'export' },
        { htmx: true },
      )
      await alice.post('POST', `${base}/settings/api/activate`, {}, { htmx: true })
      await alice.post(
        'POST',
        `${base}/settings/keys/test`,
        { key: 'mida_sk_wrong' },
        { htmx: true },
      )
      await alice.post('POST', `${base}/settings/notifications/test`, {}, { htmx: true })
    }
    // Each fragment of A answered her, with something in it.
    const fragments = alice.answers.filter((x) => x.request.startsWith('GET') && x.body !== '')
    expect(fragments.length).toBeGreaterThanOrEqual(gets.length * 2)
    expect(leaks(alice)).toEqual([])
    // The figures really are B's: the admin of every store sees them on /stores.
    const boss = await logIn(server.url, BOSS)
    const stores = (await boss.get('/stores')).body
    expect(stores).toContain(B_NAME)
    expect(stores).toContain('1,357')
    expect(B_REVENUE.some((r) => stores.includes(r))).toBe(true)
  })

  test("A's sync log shows her no call of another store, nor calls whose key opened no store", async () => {
    const alice = await logIn(server.url, LIMITED)
    const boss = await logIn(server.url, BOSS)
    await callSync('203.0.113.5', bKeys.export.replace(/.$/, '0'), 401)
    const hers = await alice.get(`/stores/${a.slug}/settings/sync-log`, true)
    expect(hers.status).toBe(200)
    for (const address of [B_CLIENT, B_CLIENT_WRONG_KEY, '203.0.113.5']) {
      expect({ address, shown: hers.body.includes(address) }).toEqual({ address, shown: false })
    }
    await alice.get('/settings')
    expect(leaks(alice)).toEqual([])
    // A call without a valid key belongs to no store: server-wide, as failed logins are, so the
    // admin of every store sees it on each store's log; B's own call stays on B's.
    const his = (await boss.get(`/stores/${a.slug}/settings/sync-log`, true)).body
    expect([B_CLIENT_WRONG_KEY, '203.0.113.5'].filter((x) => his.includes(x))).toEqual([
      B_CLIENT_WRONG_KEY,
      '203.0.113.5',
    ])
    expect(his).not.toContain(B_CLIENT)
    expect((await boss.get(`/stores/${B_SLUG}/settings/sync-log`, true)).body).toContain(B_CLIENT)
  })

  test('the switcher and /stores list A alone', async () => {
    const alice = await logIn(server.url, LIMITED)
    for (const path of ['/settings', `/stores/${a.slug}/settings`]) {
      const page = await alice.get(path)
      expect(page.status).toBe(200)
      expect(switcherSlugs(page.body)).toEqual([a.slug])
    }
    const stores = await alice.get('/stores')
    expect(storeRows(stores.body)).toEqual([a.slug])
    expect(stores.body).not.toContain('id="store-totals"')
  })

  test("A's audit section shows no server-wide entries to her, but does to the admin of every store", async () => {
    const alice = await logIn(server.url, LIMITED)
    const boss = await logIn(server.url, BOSS)
    // One entry of A's own: a Save by her.
    expect(
      (await alice.post('POST', '/settings', { store_email: 'desk@alpha.example' })).status,
    ).toBe(303)
    const hers = (await alice.get(`/stores/${a.slug}/settings/audit`, true)).body
    const page = (await alice.get('/settings')).body
    expect(hers).toContain('Settings changed')
    for (const serverWide of ['Logged in', 'Store created', BOSS]) {
      expect({ serverWide, fragment: hers.includes(serverWide) }).toEqual({
        serverWide,
        fragment: false,
      })
    }
    expect(page).not.toContain(BOSS)
    const his = (await boss.get(`/stores/${a.slug}/settings/audit`, true)).body
    for (const entry of ['Settings changed', 'Logged in', LIMITED, BOSS, 'Store created', B_SLUG]) {
      expect({ entry, shown: his.includes(entry) }).toEqual({ entry, shown: true })
    }
  })
})

describe('the admin of every store', () => {
  test('sees both stores in /stores and the switcher, and opens B', async () => {
    const boss = await logIn(server.url, BOSS)
    expect(storeRows((await boss.get('/stores')).body)).toEqual([a.slug, B_SLUG])
    expect(switcherSlugs((await boss.get('/settings')).body)).toEqual([a.slug, B_SLUG])
    const open = await boss.get(`/stores/${B_SLUG}`)
    expect({ status: open.status, location: open.location }).toEqual({
      status: 303,
      location: `/stores/${B_SLUG}/settings`,
    })
    const page = await boss.get(`/stores/${B_SLUG}/settings`)
    expect(page.status).toBe(200)
    expect(page.body).toContain(B_NAME)
    expect(page.body).toContain(b.trackingId)
    expect(switcherSlugs(page.body)).toEqual([a.slug, B_SLUG])
    const keys = (await boss.get(`/stores/${B_SLUG}/settings/keys`, true)).body
    for (const prefix of bKeys.prefixes) expect(keys).toContain(prefix)
  })
})

describe('a limited admin whose only store is deleted', () => {
  test('sees no store: /settings and its old store are 404, /stores has no row (never every store)', async () => {
    const alice = await logIn(server.url, LIMITED)
    await deleteStore(t.data, a.slug, t.clock, { actor: 'test', address: null })
    const answers: Record<string, number> = {}
    for (const r of storeRoutes().filter((x) => x.method === 'GET')) {
      for (const slug of [a.slug, B_SLUG]) {
        const path = fill(r.path, slug, bKeys.ids[0] as number)
        answers[path] = (await alice.get(path, true)).status
      }
      const bare = r.path.slice('/stores/:slug'.length)
      if (bare)
        answers[bare] = (await alice.get(fill(bare, '', bKeys.ids[0] as number), true)).status
    }
    answers['/settings (page)'] = (await alice.get('/settings')).status
    expect(answers['/settings']).toBe(404)
    expect(Object.entries(answers).filter(([, s]) => s !== 404)).toEqual([])
    const stores = await alice.get('/stores')
    expect(stores.status).toBe(200)
    expect(storeRows(stores.body)).toEqual([])
    expect(stores.body).toContain('No store to show.')
    // Logging in again lands on a 404, not on B.
    const again = await logIn(server.url, LIMITED)
    expect((await again.get('/settings')).status).toBe(404)
    expect(leaks(alice)).toEqual([])
    expect(leaks(again)).toEqual([])
  })
})

describe('a limited admin whose store is deleted, and a store added after', () => {
  test("sees nothing of the new store, even when it takes the deleted one's id (SQLite reuses it)", async () => {
    const carol = 'carol@bravo.example'
    await createOrResetAdmin(t.data, carol, PASSWORD, t.clock, undefined, [b.id])
    const hers = await logIn(server.url, carol)
    expect(storeRows((await hers.get('/stores')).body)).toEqual([B_SLUG])
    await deleteStore(t.data, B_SLUG, t.clock, { actor: 'test', address: null })
    const boss = await logIn(server.url, BOSS)
    const added = await boss.post('POST', '/stores', { slug: 'charlie', name: 'Charlie Goods' })
    expect({ status: added.status, location: added.location }).toEqual({
      status: 303,
      location: '/stores/charlie/settings',
    })
    const charlie = (await listStores(t.data)).find((s) => s.slug === 'charlie') as Store
    // SQLite gives the new row the highest id plus one: the deleted store's.
    if (!onPostgres) expect(charlie.id).toBe(b.id)
    expect(storeRows((await hers.get('/stores')).body)).toEqual([])
    for (const path of [
      '/settings',
      '/stores/charlie',
      '/stores/charlie/settings',
      `/stores/${a.slug}/settings`,
    ]) {
      expect({ path, status: (await hers.get(path)).status }).toEqual({ path, status: 404 })
    }
    expect(
      hers.answers.filter((x) => x.body.includes('Charlie') || x.body.includes('charlie')),
    ).toEqual([])
  })
})

describe('admin create and list with --store on the command line', () => {
  test('an unknown slug, --store with --all-stores, the stores of each admin, a reset keeps the limit, --all-stores lifts it', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const env = { MIDA_DATA_DIR: dir, ...(await engineEnv()) }
      const clock = new FixedClock(NOW)
      const cli = async (...args: string[]) => {
        const io = captureIo(dir, '', env)
        const code = await runCli(args, io, clock)
        return { code, out: io.stdout(), err: io.stderr() }
      }
      const admins = async () => {
        const r = await cli('admin', 'list', '--json')
        expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' })
        return (JSON.parse(r.out) as { email: string; stores: unknown }[]).map((x) => ({
          email: x.email,
          stores: x.stores,
        }))
      }
      expect((await cli('stores', 'create', 'bravo', '--name', B_NAME)).code).toBe(0)
      const stores = await cli('stores', 'list', '--json')
      expect((JSON.parse(stores.out) as { slug: string }[]).map((s) => s.slug)).toEqual([
        'default',
        'bravo',
      ])

      const unknown = await cli(
        'admin',
        'create',
        '--email',
        'x@shop.example',
        '--password',
        PASSWORD,
        '--store',
        'nope',
      )
      expect(unknown).toEqual({
        code: 2,
        out: '',
        err: expect.stringContaining('No store "nope". The stores: default, bravo'),
      })
      const both = await cli(
        'admin',
        'create',
        '--email',
        'x@shop.example',
        '--password',
        PASSWORD,
        '--store',
        'default',
        '--all-stores',
      )
      expect({ code: both.code, out: both.out }).toEqual({ code: 2, out: '' })
      expect(both.err).toContain('--store and --all-stores exclude each other')
      expect(await admins()).toEqual([])

      expect(
        (
          await cli(
            'admin',
            'create',
            '--email',
            LIMITED,
            '--password',
            PASSWORD,
            '--store',
            'default',
          )
        ).code,
      ).toBe(0)
      expect(
        (
          await cli(
            'admin',
            'create',
            '--email',
            'two@shop.example',
            '--password',
            PASSWORD,
            '--store',
            'default',
            '--store',
            'bravo',
          )
        ).code,
      ).toBe(0)
      expect((await cli('admin', 'create', '--email', BOSS, '--password', PASSWORD)).code).toBe(0)
      expect(await admins()).toEqual([
        { email: LIMITED, stores: ['default'] },
        { email: 'two@shop.example', stores: ['default', 'bravo'] },
        { email: BOSS, stores: 'all' },
      ])

      const reset = await cli(
        'admin',
        'create',
        '--email',
        LIMITED,
        '--password',
        'another good password',
        '--json',
      )
      expect(reset.code).toBe(0)
      expect(JSON.parse(reset.out)).toMatchObject({
        email: LIMITED,
        created: false,
        stores: ['default'],
      })
      expect((await admins())[0]).toEqual({ email: LIMITED, stores: ['default'] })

      const lifted = await cli(
        'admin',
        'create',
        '--email',
        LIMITED,
        '--password',
        PASSWORD,
        '--all-stores',
        '--json',
      )
      expect(lifted.code).toBe(0)
      expect(JSON.parse(lifted.out)).toMatchObject({
        email: LIMITED,
        created: false,
        stores: 'all',
      })
      expect((await admins())[0]).toEqual({ email: LIMITED, stores: 'all' })
    } finally {
      cleanup()
    }
  })
})
