// The settings page's Destinations: add (a webhook's secret shown once), list with the last
// deliveries, Send test, remove, under /stores/<slug>/settings and /settings, with CSRF; bad
// input named (400); a limited admin gets 404 for another store's; secrets never shown again,
// nor logged.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { recentAudit } from '../../src/domain/audit.ts'
import { addDestination, listDestinations } from '../../src/domain/destinations.ts'
import { configuredMailer } from '../../src/domain/mailer.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
import { createStore } from '../../src/domain/stores.ts'
import { syncPeriod } from '../../src/domain/sync.ts'
import { type Receiver, readmeVerifier, startReceiver } from '../receiver.ts'
import { createTestApp, type TestApp } from '../utils.ts'

const ALLOW = {
  MIDA_ALLOW_PRIVATE_DESTINATIONS: 'true',
  MIDA_SECRET_KEY: 'a test secret key of some length',
}

let t: TestApp
let receiver: Receiver
let cookie: string
let csrf: string

beforeEach(async () => {
  t = await createTestApp({ env: ALLOW, settings: { timezone: 'UTC', store_name: 'Main' } })
  receiver = startReceiver()
  ;({ cookie, csrf } = await login(t))
})

afterEach(async () => {
  await receiver.stop()
  t.close()
})

async function login(app: TestApp, email = 'me@shop.example', stores?: number[]) {
  const { admin } = await createOrResetAdmin(
    app.data,
    email,
    'a good password',
    app.clock,
    undefined,
    stores,
  )
  const s = await startSession(app.data, admin.id, app.clock)
  return { cookie: `mida_session=${s.token}`, csrf: s.csrfToken }
}

/** An htmx request of the logged-in admin (CSRF header included unless overridden). */
async function hx(
  path: string,
  fields?: Record<string, string>,
  headers: Record<string, string> = {},
  app: TestApp = t,
) {
  const res = await app.request(path, {
    method: fields ? 'POST' : 'GET',
    headers: { cookie, 'hx-request': 'true', 'x-csrf-token': csrf, ...headers },
    body: fields ? new URLSearchParams(fields) : undefined,
  })
  return { status: res.status, body: await res.text() }
}

const BASE = '/stores/default/settings'

describe('the Destinations section', () => {
  test('add (secret shown once), list with deliveries, Send test, remove; audited; CSRF required', async () => {
    const url = `${receiver.url}/hooks/the-secret-part`
    const fields = { type: 'webhook', url, name: 'ERP <prod>' }
    expect((await hx(`${BASE}/destinations`, fields, { 'x-csrf-token': 'wrong' })).status).toBe(403)
    expect(await listDestinations(t.data, t.store)).toEqual([])

    const added = await hx(`${BASE}/destinations`, fields)
    expect(added.status).toBe(200)
    const secret =
      /<code id="new-destination-secret" class="secret">(whsec_[0-9A-Za-z]{32})<\/code>/.exec(
        added.body,
      )?.[1] as string
    expect(secret).toBeDefined()
    expect(added.body).toStartWith('<div id="destinations"><div class="new-key" role="status">')
    expect(added.body).toContain('<strong>ERP &lt;prod&gt;</strong>')
    expect(added.body).toContain(`webhook · ${receiver.url}/hooks/… · added `)
    // The audit log follows as a partial.
    expect(added.body).toContain('<hx-partial hx-target="#audit-log"')
    expect(added.body).toContain('Destination added')
    const [destination] = await listDestinations(t.data, t.store)
    await expect(recentAudit(t.data, t.store, 5)).resolves.toContainEqual(
      expect.objectContaining({
        action: 'destination.added',
        actor: 'me@shop.example',
        detail: `ERP <prod> (webhook, ${receiver.url}/hooks/…)`,
      }),
    )

    // The whole page, here and at /settings, lists it; never its secret nor its whole URL.
    for (const path of [BASE, '/settings']) {
      const page = await t.request(path, { headers: { cookie } })
      const html = await page.text()
      expect([path, page.status]).toEqual([path, 200])
      expect(html).toContain('<section id="section-destinations" class="card"')
      expect(html).toContain(`<article id="destination-${destination?.id}" class="destination">`)
      expect(html).not.toContain(secret)
      expect(html).not.toContain('the-secret-part')
    }

    // Send test: delivered now, signed, its result and its row shown.
    const tested = await hx(`${BASE}/destinations/${destination?.id}/test`, {})
    expect(tested.status).toBe(200)
    expect(tested.body).toContain(
      '<p id="destination-test-result" class="status status-success" role="status" data-outcome="sent">Test delivered to &quot;ERP &lt;prod&gt;&quot;: HTTP 200.</p>',
    )
    const got = receiver.received[0]!
    expect(got.headers['x-mida-event']).toBe('sync.test')
    const verify = await readmeVerifier()
    expect(
      verify(
        secret,
        got.headers['x-mida-signature'] as string,
        got.body,
        t.clock.now().epochMilliseconds,
      ),
    ).toBe(true)
    expect(tested.body).not.toContain(secret)

    // A scheduled sync's delivery shows in the list.
    await syncPeriod(
      t.data,
      t.store,
      { frequency: 'daily', trigger: 'scheduler', strictFrequency: false },
      t.clock,
    )
    await new OutboxSender({
      data: t.data,
      clock: t.clock,
      mailer: configuredMailer(t.config, t.data),
      baseUrl: t.config.baseUrl,
      destinations: { allowPrivate: true },
    }).runOnce()
    const fragment = await hx('/settings/destinations')
    expect(fragment.status).toBe(200)
    expect(fragment.body).toContain('<td data-label="Event">sync.succeeded 2026-11-25</td>')
    expect(fragment.body).toContain('<td data-label="Event">sync.test</td>')
    expect(fragment.body.match(/status-success">sent</g)).toHaveLength(2)

    // Remove: gone, with its deliveries; audited.
    const removed = await hx(`${BASE}/destinations/${destination?.id}/remove`, {})
    expect(removed.status).toBe(200)
    expect(removed.body).toContain('No destinations yet.')
    expect(await listDestinations(t.data, t.store)).toEqual([])
    expect((await recentAudit(t.data, t.store, 1))[0]).toMatchObject({
      action: 'destination.removed',
    })
    expect((await hx(`${BASE}/destinations/${destination?.id}/remove`, {})).status).toBe(404)
  })

  test('bad input is named (400), what was typed kept; without the flag private addresses and http:// are refused', async () => {
    const bad = await hx(`${BASE}/destinations`, {
      type: 'teams',
      url: 'https://93.184.216.34/x',
      name: 'T',
    })
    expect(bad.status).toBe(400)
    expect(bad.body).toContain(
      '<small id="new-destination-error" class="field-error" role="alert">type: must be webhook or slack, got &quot;teams&quot;</small>',
    )
    expect(bad.body).toContain('value="https://93.184.216.34/x"')

    const strict = await createTestApp({ env: { MIDA_SECRET_KEY: ALLOW.MIDA_SECRET_KEY } })
    try {
      const s = await login(strict)
      const post = async (url: string) => {
        const res = await strict.request(`${BASE}/destinations`, {
          method: 'POST',
          headers: { cookie: s.cookie, 'hx-request': 'true', 'x-csrf-token': s.csrf },
          body: new URLSearchParams({ type: 'slack', url }),
        })
        return { status: res.status, body: await res.text() }
      }
      for (const [url, message] of [
        ['https://127.0.0.1/x', 'url: 127.0.0.1 is a loopback address'],
        ['https://[::1]/x', 'url: ::1 is a loopback address'],
        ['https://169.254.169.254/x', 'url: 169.254.169.254 is a link-local address'],
        ['https://localhost/x', 'url: localhost is a loopback address'],
        [
          `${receiver.url}/x`,
          'url: must start with https:// (http:// only with MIDA_ALLOW_PRIVATE_DESTINATIONS=true)',
        ],
      ]) {
        const answer = await post(url as string)
        expect([url, answer.status, answer.body.includes(message as string)]).toEqual([
          url,
          400,
          true,
        ])
      }
      expect(await listDestinations(strict.data, strict.store)).toEqual([])
    } finally {
      strict.close()
    }
  })

  test("a limited admin gets 404 for another store's destinations, and cannot test or remove them", async () => {
    const other = await createStore(t.data, { slug: 'other', timezone: 'UTC' }, t.clock, {
      actor: 'cli',
      address: null,
    })
    const { destination } = await addDestination(
      t.data,
      other,
      { type: 'slack', url: `${receiver.url}/services/T/B/other-secret`, name: 'Other team' },
      t.clock,
      { allowPrivate: true },
    )
    ;({ cookie, csrf } = await login(t, 'alice@main.example', [t.storeId]))
    for (const [path, fields] of [
      ['/stores/other/settings/destinations', undefined],
      ['/stores/other/settings/destinations', { type: 'webhook', url: `${receiver.url}/x` }],
      [`/stores/other/settings/destinations/${destination.id}/test`, {}],
      [`/stores/other/settings/destinations/${destination.id}/remove`, {}],
      // Through her own store's address, the other store's id names nothing.
      [`${BASE}/destinations/${destination.id}/test`, {}],
      [`${BASE}/destinations/${destination.id}/remove`, {}],
    ] as const) {
      const answer = await hx(path, fields)
      expect([path, answer.status]).toEqual([path, 404])
      expect(answer.body).not.toContain('Other team')
    }
    const own = await hx(`${BASE}/destinations`)
    expect(own.body).not.toContain('Other team')
    expect(receiver.received).toEqual([])
    expect((await listDestinations(t.data, other)).map((d) => d.id)).toEqual([destination.id])
  })

  test("a failing Slack destination's URL is never logged, only its hint", async () => {
    receiver.answer(() => new Response('no', { status: 404 }))
    const url = `${receiver.url}/services/T0/B0/slack-secret-token`
    await hx(`${BASE}/destinations`, { type: 'slack', url, name: 'Team' })
    await syncPeriod(
      t.data,
      t.store,
      { frequency: 'daily', trigger: 'scheduler', strictFrequency: false },
      t.clock,
    )
    const logs: string[] = []
    await new OutboxSender({
      data: t.data,
      clock: t.clock,
      mailer: configuredMailer(t.config, t.data),
      baseUrl: t.config.baseUrl,
      destinations: { allowPrivate: true },
      log: (line) => logs.push(line),
    }).runOnce()
    expect(logs).toHaveLength(1)
    expect(logs[0]).toContain(
      `destination "Team" (${receiver.url}/services/…) of store "default" failed (attempt 1): HTTP 404`,
    )
    expect(logs.join('')).not.toContain('slack-secret-token')
    const page = await (await t.request(BASE, { headers: { cookie } })).text()
    expect(page).toContain('HTTP 404')
    expect(page).not.toContain('slack-secret-token')
  })
})
