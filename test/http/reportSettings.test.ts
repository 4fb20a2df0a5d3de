import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { parse } from 'csv-parse/sync'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { createStore } from '../../src/domain/stores.ts'
import { DST_WEEK, seedDstWeek } from '../reportData.ts'
import { createTestApp, type TestApp } from '../utils.ts'

// 01:00 on 2026-11-26 in New York.
const NOW = '2026-11-26T06:00:00Z'

let t: TestApp
let cookie: string

beforeEach(async () => {
  t = await createTestApp({
    now: NOW,
    settings: { timezone: 'America/New_York', currency: 'USD', api_enabled: 'true' },
    env: { MIDA_BASE_URL: 'https://stats.acme.test' },
  })
  await seedDstWeek(t.data, t.store, t.clock)
  const { admin } = await createOrResetAdmin(t.data, 'me@acme.test', 'a good password', t.clock)
  cookie = `mida_session=${(await startSession(t.data, admin.id, t.clock)).token}`
})
afterEach(() => t.close())

const page = (path: string) => t.request(path, { headers: { cookie } })

describe('the Reports box', () => {
  test('the range form, the IMPORTDATA formula with its Copy button, and the report-key line', async () => {
    for (const base of ['', '/stores/default']) {
      const html = await (await page(`${base}/settings`)).text()
      expect(html).toContain('<section id="section-reports" class="card"')
      expect(html).toContain(
        `<form id="report-form" method="get" action="${base}/settings/report.csv"></form>`,
      )
      expect(html).toContain(
        '<input id="report-from" name="from" type="date" form="report-form" value="2026-10-27" max="2026-11-26" required/>',
      )
      expect(html).toContain(
        '<input id="report-to" name="to" type="date" form="report-form" value="2026-11-25" max="2026-11-26" required/>',
      )
      expect(html).toContain(
        '<code id="report-formula">=IMPORTDATA(&quot;https://stats.acme.test/apiv1/analytics/report?format=csv&amp;from=2026-10-27&amp;to=2026-11-25&amp;token=YOUR_REPORT_KEY&quot;)</code>',
      )
      expect(html).toContain('data-copy="report-formula"')
      expect(html).toContain('a key of scope <strong>report</strong>')
    }
  })
})

describe('GET <base>/settings/report.csv', () => {
  test("the API's CSV for the admin's store, by the dimension asked for", async () => {
    const key = (await createApiKey(t.data, t.store, 'sheets', 'report', t.clock)).secret
    const query = `from=${DST_WEEK.from}&to=${DST_WEEK.to}&dimension=device`
    const res = await page(`/settings/report.csv?${query}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="default-2026-10-26_2026-11-01.csv"',
    )
    const api = await t.request(`/apiv1/analytics/report?format=csv&${query}&token=${key}`)
    const csv = await res.text()
    expect(csv).toBe(await api.text())
    expect((parse(csv, { columns: true }) as { device: string }[]).map((r) => r.device)).toEqual([
      'mobile',
      'desktop',
      'tablet',
      '(none)',
    ])
  })

  test('each store under its own path; its days by default', async () => {
    await createStore(
      t.data,
      { slug: 'outlet', name: 'Outlet', timezone: 'America/New_York' },
      t.clock,
      { actor: 'test', address: null },
    )
    const res = await page('/stores/outlet/settings/report.csv')
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="outlet-2026-10-27_2026-11-25.csv"',
    )
    const rows = parse(await res.text(), { columns: true, cast: true }) as { sessions: number }[]
    expect(rows).toHaveLength(30)
    expect(rows.reduce((n, r) => n + r.sessions, 0)).toBe(0)
    // The API status is the API's: the admin downloads whatever it is.
    const own = await page(`/settings/report.csv?from=${DST_WEEK.from}&to=${DST_WEEK.to}`)
    const sessions = (
      parse(await own.text(), { columns: true, cast: true }) as { sessions: number }[]
    )
      .map((r) => r.sessions)
      .reduce((a, b) => a + b, 0)
    expect(sessions).toBe(6)
  })

  test('anonymous: to the login page; a bad range: an error page naming it', async () => {
    const anonymous = await t.request('/settings/report.csv')
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Fsettings%2Freport.csv')
    const bad = await page('/settings/report.csv?from=2026-11-02&to=2026-11-01')
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain('from (2026-11-02) is after to (2026-11-01)')
  })
})
