import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { Queries } from '../../src/db/data.ts'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { recordAudit } from '../../src/domain/audit.ts'
import { countToday } from '../../src/domain/collect.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { createTestApp, type TestApp } from '../utils.ts'

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

let t: TestApp
let cookie: string
let csrf: string

beforeEach(async () => {
  t = await createTestApp({
    settings: {
      store_email: 'shop@shop.example',
      timezone: 'America/New_York',
      api_enabled: true,
      notify_success: true,
    },
  })
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const s = await startSession(t.data, admin.id, t.clock)
  cookie = `mida_session=${s.token}`
  csrf = s.csrfToken
})
afterEach(() => t.close())

/** An htmx request of the logged-in admin. */
function hx(path: string, fields?: Record<string, string>) {
  return t.request(path, {
    method: fields ? 'POST' : 'GET',
    headers: { cookie, 'hx-request': 'true', 'x-csrf-token': csrf },
    body: fields ? new URLSearchParams(fields) : undefined,
  })
}

/** `q`, recording the SQL text of every statement run through it (or its transactions). */
function recording(q: Queries, statements: string[]): Queries {
  return {
    all: (sql, ...params) => {
      statements.push(sql)
      return q.all(sql, ...params)
    },
    get: (sql, ...params) => {
      statements.push(sql)
      return q.get(sql, ...params)
    },
    values: (sql, ...params) => {
      statements.push(sql)
      return q.values(sql, ...params)
    },
    run: (sql, ...params) => {
      statements.push(sql)
      return q.run(sql, ...params)
    },
    tx: (work, options) => q.tx((inner) => work(recording(inner, statements)), options),
  }
}

const QUERIES = ['all', 'get', 'values', 'run', 'tx'] as const

/** Every SQL text the app hands to the data layer while `work` runs. */
async function statementsOf(work: () => Promise<unknown> | unknown): Promise<string[]> {
  const statements: string[] = []
  const data = t.data
  const own: Queries = {
    all: data.all.bind(data),
    get: data.get.bind(data),
    values: data.values.bind(data),
    run: data.run.bind(data),
    tx: data.tx.bind(data),
  }
  const spied = recording(own, statements)
  for (const name of QUERIES)
    Object.defineProperty(data, name, { value: spied[name], configurable: true })
  try {
    await work()
  } finally {
    for (const name of QUERIES) delete (data as unknown as Record<string, unknown>)[name]
  }
  return statements
}

/** The statements of the tracking section's two counts, as `countToday` runs them. */
async function trackingCounts(): Promise<string[]> {
  const statements = await statementsOf(() =>
    countToday(t.data, t.store, 'America/New_York', t.clock.now()),
  )
  expect(statements.length).toBe(2)
  return statements
}

describe("a Save answer and today's tracking counts", () => {
  test("a Save that leaves the time zone alone does not count today's sessions and orders: it keeps the page's counter", async () => {
    const counts = await trackingCounts()
    let html = ''
    const ran = await statementsOf(async () => {
      const res = await hx('/settings', { store_name: 'Corner Shop', _csrf: csrf })
      expect(res.status).toBe(200)
      html = await res.text()
    })
    expect(ran.filter((sql) => counts.includes(sql))).toEqual([])
    expect(html).toContain('<hx-partial hx-target="#section-tracking" hx-swap="outerHTML">')
    expect(html).toContain('<p id="tracking-today" hx-preserve></p>')
    expect(html).not.toContain('Today so far')

    // A refused Save saved nothing: it does not count either.
    const refused = await statementsOf(async () => {
      const res = await hx('/settings', { timezone: 'Mars/Base', _csrf: csrf })
      expect(res.status).toBe(422)
      expect(await res.text()).toContain('<p id="tracking-today" hx-preserve></p>')
    })
    expect(refused.filter((sql) => counts.includes(sql))).toEqual([])
  })

  test('a Save that changes the time zone counts again, in the new zone, as the full page does', async () => {
    const counts = await trackingCounts()
    let html = ''
    const ran = await statementsOf(async () => {
      html = await (await hx('/settings', { timezone: 'Europe/Paris', _csrf: csrf })).text()
    })
    expect(ran.filter((sql) => counts.includes(sql))).toEqual(counts)
    expect(html).toContain(
      '<p id="tracking-today" hx-get="/settings/tracking/today" hx-trigger="every 30s" hx-swap="outerHTML" aria-live="polite">Today so far (<span>Europe/Paris</span>): <strong>0</strong> sessions, <strong>0</strong> orders.</p>',
    )
    const page = await statementsOf(() => t.request('/settings', { headers: { cookie } }))
    expect(page.filter((sql) => counts.includes(sql))).toEqual(counts)
  })
})

describe('the fragments load through the same loaders as the page', () => {
  test('each fragment is, byte for byte, what the full page shows in its place', async () => {
    const key = await createApiKey(t.data, t.store, 'Looker', 'export', t.clock)
    const sync = await t.request('/apiv1/analytics/sync', {
      method: 'POST',
      headers: { 'x-mida-secret-key': key.secret },
    })
    expect(sync.status).toBe(200)
    const event = await t.request('/apiv1/collect', {
      method: 'POST',
      headers: { 'user-agent': DESKTOP },
      body: JSON.stringify({
        store: t.store.trackingId,
        visitor: 'visitor-0001',
        event: 'pageview',
        url: 'https://shop.example/',
      }),
    })
    expect(event.status).toBe(204)
    await recordAudit(
      t.data,
      { storeId: t.storeId, actor: 'me@shop.example', address: '203.0.113.9', action: 'login' },
      t.clock,
    )

    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    const fragments: [string, string][] = [
      ['/settings/overview', '<div id="overview"'],
      ['/settings/keys', '<div id="api-keys"'],
      ['/settings/tracking/today', '<p id="tracking-today"'],
      ['/settings/sync-log', '<div id="sync-log"'],
      ['/settings/audit', '<div id="audit-log"'],
      ['/settings/notifications/outbox', '<div id="outbox"'],
    ]
    for (const [path, start] of fragments) {
      const res = await hx(path)
      expect([path, res.status]).toEqual([path, 200])
      const fragment = await res.text()
      expect([path, fragment.slice(0, start.length)]).toEqual([path, start])
      expect([path, page.includes(fragment)]).toEqual([path, true])
    }
    // The data is there to be shown: a figure, the key, the count, the sync, the login, the email.
    expect(page).toContain(
      '<p class="period-label">Last completed period: yesterday, <span>2026-11-25</span>',
    )
    expect(page).toContain('<td class="key-name" data-label="Name">Looker</td>')
    expect(page).toContain('<strong>1</strong> sessions')
    expect(page).toContain('<span class="status status-success">success</span>')
    expect(page).toContain('<td data-label="What">Logged in</td>')
    expect(page).toContain('<span class="status status-failed">not sendable</span>')
  })
})
