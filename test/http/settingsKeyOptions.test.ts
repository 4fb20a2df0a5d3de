// The key options on the settings page, through its real routes (session cookie and CSRF token):
// scope report with its Sheets formula, an expiry on Generate, a grace period on Regenerate, and
// the list's state, expiry, grace and warnings, on the first store's page and another store's.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createApiKey, listApiKeys, revokeApiKey } from '../../src/domain/keys.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { createStore, type Store } from '../../src/domain/stores.ts'
import { createTestApp, type TestApp } from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York.
const NOW = '2026-11-26T06:00:00Z'
const DAY = 86_400_000

let t: TestApp
let cookie: string
let csrf: string
/** A second store: its page is under /stores/outlet. */
let outlet: Store

beforeEach(async () => {
  t = await createTestApp({
    now: NOW,
    settings: { timezone: 'America/New_York', api_enabled: 'true' },
  })
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const s = await startSession(t.data, admin.id, t.clock)
  cookie = `mida_session=${s.token}`
  csrf = s.csrfToken
  outlet = await createStore(t.data, { slug: 'outlet' }, t.clock, { actor: 'cli', address: null })
  await updateSettings(t.data, outlet, { timezone: 'America/New_York' }, t.clock)
})
afterEach(() => t.close())

/** An htmx request of the logged-in admin, with the page's CSRF header. */
function hx(path: string, fields?: Record<string, string>) {
  return t.request(path, {
    method: fields ? 'POST' : 'GET',
    headers: { cookie, 'hx-request': 'true', 'x-csrf-token': csrf },
    body: fields ? new URLSearchParams(fields) : undefined,
  })
}

/** The keys fragment of an htmx answer (the partials after it left out). */
async function fragment(res: Response): Promise<string> {
  return (await res.text()).split('<hx-partial')[0]!
}

/** The key shown once in a new-key box. */
function shownKey(html: string): string {
  const key = /id="new-key-value" class="secret">(mida_sk_[0-9A-Za-z]+)</.exec(html)?.[1]
  if (!key) throw new Error('no new key in the answer')
  return key
}

/** How many times `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1

/** One key row of the list, by key id. */
function row(html: string, id: number): string {
  const m = new RegExp(`<tr id="key-${id}"[^>]*>.*?</tr>`).exec(html)
  if (!m) throw new Error(`no row of key ${id}`)
  return m[0]
}

const sync = (key: string) =>
  t.request('/apiv1/analytics/sync', { method: 'POST', headers: { 'x-mida-secret-key': key } })

describe('Generate: scope and expiry', () => {
  test('a report key with an expiry: shown once with its Sheets formula, listed with scope, state and expiry', async () => {
    const res = await hx('/settings/keys', { name: 'Sheet', scope: 'report', expires: '30d' })
    expect(res.status).toBe(200)
    const html = await fragment(res)
    const key = shownKey(html)
    expect(html).toContain(
      `<code id="new-key-sheets">=IMPORTDATA(&quot;${t.config.baseUrl}/apiv1/analytics/report?format=csv&amp;token=${key}&quot;)</code><button type="button" class="outline" data-copy="new-key-sheets">Copy</button>`,
    )
    expect(html).toContain(
      'Copy it now: it is not shown again. It expires <time datetime="2026-12-26T06:00:00.000Z">2026-12-26 01:00</time>.',
    )
    // The key is in the box and in the formula, nowhere else (no cURL, no test button: a
    // report key is refused by the sync API).
    expect(count(html, key)).toBe(2)
    expect(html).not.toContain('id="new-key-curl"')
    const [stored] = await listApiKeys(t.data, t.store)
    expect([stored!.scope, stored!.expiresAt]).toEqual(['report', Date.parse(NOW) + 30 * DAY])
    expect(row(html, stored!.id)).toContain(
      '<td class="key-name" data-label="Name">Sheet<small class="key-state key-state-active">expires <time datetime="2026-12-26T06:00:00.000Z">2026-12-26 01:00</time></small></td>',
    )
    expect(row(html, stored!.id)).toContain('<td data-label="Scope">report</td>')
    // Nothing shows the key again: not the page, not the fragment, not the audit log.
    for (const path of ['/settings', '/settings/keys', '/settings/audit']) {
      const again = await t.request(path, { headers: { cookie, 'hx-request': 'true' } })
      expect([path, (await again.text()).includes(key)]).toEqual([path, false])
    }
    expect(await (await t.request('/settings', { headers: { cookie } })).text()).not.toContain(key)
  })

  test('an export key: its cURL, no formula; no expiry', async () => {
    const html = await fragment(await hx('/settings/keys', { name: 'Looker', scope: 'export' }))
    const key = shownKey(html)
    expect(html).not.toContain('new-key-sheets')
    expect(html).not.toContain('It expires')
    // The box, the cURL and the "Test this key" field: three, as before.
    expect(count(html, key)).toBe(3)
    const [stored] = await listApiKeys(t.data, t.store)
    expect(stored!.expiresAt).toBeNull()
    expect(row(html, stored!.id)).toContain('<td class="key-name" data-label="Name">Looker</td>')
  })

  test('"on a date…" expires at the start of that day in the store time zone, on any store', async () => {
    const res = await hx('/stores/outlet/settings/keys', {
      name: 'Spring',
      expires: 'date',
      expires_date: '2027-03-15',
    })
    expect(res.status).toBe(200)
    const [stored] = await listApiKeys(t.data, outlet)
    // 2027-03-15 is the first whole day of daylight saving time in New York: UTC−4.
    expect(new Date(stored!.expiresAt!).toISOString()).toBe('2027-03-15T04:00:00.000Z')
    expect(row(await fragment(res), stored!.id)).toContain(
      '<td class="key-name" data-label="Name">Spring<small class="key-state key-state-active">expires <time datetime="2027-03-15T04:00:00.000Z">2027-03-15 00:00</time></small></td>',
    )
    expect(await listApiKeys(t.data, t.store)).toEqual([])
  })

  test('a bad expiry keeps what was typed, names the problem and creates no key', async () => {
    const cases: [fields: Record<string, string>, error: string][] = [
      [{ expires: 'date', expires_date: '' }, 'expires: choose the date the key expires'],
      [{ expires: 'date', expires_date: '2026-11-01' }, 'expires: 2026-11-01 is not in the future'],
      [
        { expires: 'date', expires_date: '2027-02-30' },
        'expires: 2027-02-30 is not a calendar date',
      ],
      [
        { expires: 'forever' },
        'expires must be a duration such as 90d, 12h or 2w, or a date YYYY-MM-DD, got &quot;forever&quot;',
      ],
    ]
    for (const [fields, error] of cases) {
      const res = await hx('/settings/keys', { name: 'Sheet', scope: 'report', ...fields })
      const html = await fragment(res)
      expect([fields, res.status]).toEqual([fields, 422])
      expect(html).toContain(
        `<small id="new-key-error" class="field-error" role="alert">${error}</small>`,
      )
      expect(html).toContain('value="Sheet"')
      expect(html).toContain('<option value="report" selected>')
      if (fields.expires === 'date') {
        expect(html).toContain('<option value="date" selected>on a date…</option>')
        expect(html).toContain(
          `name="expires_date" form="new-key-form" type="date" value="${fields.expires_date}"`,
        )
      }
    }
    expect(await listApiKeys(t.data, t.store)).toEqual([])
  })
})

describe('Regenerate with a grace period', () => {
  test('the old key answers until the grace ends and its row says so; Revoke ends the grace', async () => {
    const old = await createApiKey(t.data, t.store, 'Looker', 'export', t.clock)
    const res = await hx(`/settings/keys/${old.key.id}/regenerate`, { grace: '24h' })
    expect(res.status).toBe(200)
    const html = await fragment(res)
    const fresh = shownKey(html)
    expect(count(html, fresh)).toBe(3)
    expect(html).not.toContain(old.secret)
    expect(row(html, old.key.id)).toBe(
      `<tr id="key-${old.key.id}" class="grace"><td class="key-name" data-label="Name">Looker<small class="key-state key-state-grace">old key, answers until <time datetime="2026-11-27T06:00:00.000Z">2026-11-27 01:00</time></small></td><td data-label="Key"><code>${old.key.prefix}…</code></td><td data-label="Scope">export</td><td data-label="Created"><time datetime="2026-11-26T06:00:00.000Z">2026-11-26 01:00</time></td><td data-label="Last used"><span>never</span></td><td class="actions" data-label="Actions"><button type="button" class="destructive outline" hx-post="/settings/keys/${old.key.id}/revoke" hx-target="#api-keys" hx-swap="outerHTML" hx-confirm="Revoke the old key of &#34;Looker&#34; now? Its grace period ends: clients still using it get 401 from now on.">Revoke</button></td></tr>`,
    )
    // The grace choice the Regenerate buttons send along.
    expect(html).toContain(
      '<select id="regenerate-grace" name="grace" form="key-regenerate-form"><option value="0">not at all (it stops at once)</option><option value="1h">for 1 hour</option><option value="24h">for 24 hours</option><option value="7d">for 7 days</option></select>',
    )
    expect(html).toContain('hx-include="#regenerate-grace"')
    expect((await sync(old.secret)).status).toBe(200)
    expect((await sync(fresh)).status).toBe(200)

    const revoked = await hx(`/settings/keys/${old.key.id}/revoke`, {})
    expect(revoked.status).toBe(200)
    const after = await fragment(revoked)
    expect(row(after, old.key.id)).toContain(
      '<td class="actions" data-label="Actions"><span class="revoked-note">Revoked</span></td>',
    )
    expect(row(after, old.key.id)).toStartWith(`<tr id="key-${old.key.id}" class="revoked">`)
    expect((await sync(old.secret)).status).toBe(401)
    expect((await sync(fresh)).status).toBe(200)
    // The next look lists the new key alone, the old one counted as revoked.
    const list = await fragment(await hx('/settings/keys'))
    expect(list).not.toContain(`id="key-${old.key.id}"`)
    expect(list).toContain('1 revoked key not shown')
  })

  test('once the grace has passed the old key is listed as revoked (hidden); a bad grace is refused', async () => {
    const old = await createApiKey(t.data, t.store, 'Looker', 'export', t.clock)
    const bad = await hx(`/settings/keys/${old.key.id}/regenerate`, { grace: '31d' })
    expect(bad.status).toBe(422)
    expect(await fragment(bad)).toContain(
      '<small id="new-key-error" class="field-error" role="alert">grace: at most 30 days</small>',
    )
    expect((await listApiKeys(t.data, t.store)).length).toBe(1)

    // Without a grace field (a client that sends none): the old key stops at once.
    const none = await fragment(await hx(`/settings/keys/${old.key.id}/regenerate`, {}))
    expect(none).not.toContain(`id="key-${old.key.id}"`)
    expect((await sync(old.secret)).status).toBe(401)

    const current = (await listApiKeys(t.data, t.store))[0]!
    await hx(`/settings/keys/${current.id}/regenerate`, { grace: '1h' })
    expect(await fragment(await hx('/settings/keys'))).toContain(
      `<tr id="key-${current.id}" class="grace">`,
    )
    t.clock.advance({ hours: 1 })
    const later = await fragment(await hx('/settings/keys'))
    expect(later).not.toContain(`id="key-${current.id}"`)
    expect(later).toContain('2 revoked keys not shown')
  })
})

describe('expiry warnings on the page', () => {
  test('a key expiring within 7 days gets a badge, and the banner names it and an expired key', async () => {
    const at = Date.parse(NOW)
    const make = (name: string, expiresAt: number) =>
      createApiKey(t.data, t.store, name, 'export', t.clock, undefined, { expiresAt })
    const later = await make('Later', at + 8 * DAY)
    const soon = await make('Soon', at + 3 * DAY)
    const hours = await make('Hours', at + 5 * 3_600_000)
    const gone = await make('Gone', at + DAY)
    const revoked = await make('Revoked', at + DAY)
    await revokeApiKey(t.data, t.store, String(revoked.key.id), t.clock)
    // A day on: Gone has expired (and is not revoked), Soon has 2 days left, Hours has passed too.
    t.clock.advance({ hours: 24 })
    const html = await fragment(await hx('/settings/keys'))
    expect(html).toStartWith(
      '<div id="api-keys"><div id="key-expiry-banner" class="notify-warning" role="alert">',
    )
    const banner = /<div id="key-expiry-banner".*?<\/ul><\/div>/.exec(html)![0]
    // Soonest first: the expired ones, then those about to expire (Later: 7 days left to the ms).
    expect(banner.match(/<li data-key-id="\d+">.*?<\/li>/g)).toEqual([
      `<li data-key-id="${hours.key.id}"><q>Hours</q> (export, <code>${hours.key.prefix}…</code>) expired <time datetime="2026-11-26T11:00:00.000Z">2026-11-26 06:00</time></li>`,
      `<li data-key-id="${gone.key.id}"><q>Gone</q> (export, <code>${gone.key.prefix}…</code>) expired <time datetime="2026-11-27T06:00:00.000Z">2026-11-27 01:00</time></li>`,
      `<li data-key-id="${soon.key.id}"><q>Soon</q> (export, <code>${soon.key.prefix}…</code>) expires <time datetime="2026-11-29T06:00:00.000Z">2026-11-29 01:00</time></li>`,
      `<li data-key-id="${later.key.id}"><q>Later</q> (export, <code>${later.key.prefix}…</code>) expires <time datetime="2026-12-04T06:00:00.000Z">2026-12-04 01:00</time></li>`,
    ])
    expect(row(html, soon.key.id)).toContain(
      '<td class="key-name" data-label="Name">Soon<small class="key-state key-state-active">expires <time datetime="2026-11-29T06:00:00.000Z">2026-11-29 01:00</time> <mark class="key-expiry-badge">in 2 days</mark></small></td>',
    )
    expect(row(html, gone.key.id)).toStartWith(`<tr id="key-${gone.key.id}" class="expired">`)
    expect(row(html, gone.key.id)).toContain(
      '<td class="key-name" data-label="Name">Gone<small class="key-state key-state-expired">expired <time datetime="2026-11-27T06:00:00.000Z">2026-11-27 01:00</time></small></td>',
    )
    // Later (7 days left) gets its badge; nothing names the revoked key.
    expect(row(html, later.key.id)).toContain('<mark class="key-expiry-badge">in 7 days</mark>')
    expect(html).not.toContain(`id="key-${revoked.key.id}"`)
    expect(html).not.toContain(`data-key-id="${revoked.key.id}"`)
  })

  test('no banner while no key expires within 7 days; a key with hours left says so', async () => {
    const at = Date.parse(NOW)
    await createApiKey(t.data, t.store, 'Far', 'export', t.clock, undefined, {
      expiresAt: at + 7 * DAY + 1,
    })
    await createApiKey(t.data, t.store, 'Never', 'export', t.clock)
    const html = await fragment(await hx('/settings/keys'))
    expect(html).not.toContain('key-expiry-banner')
    expect(html).not.toContain('key-expiry-badge')
    t.clock.advance({ milliseconds: 7 * DAY - 5 * 3_600_000 + 1 })
    const close = await fragment(await hx('/settings/keys'))
    expect(close).toContain('<mark class="key-expiry-badge">in 5 hours</mark>')
    expect(close).toContain('id="key-expiry-banner"')
    // The whole page shows the same.
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    expect(page).toContain('<mark class="key-expiry-badge">in 5 hours</mark>')
  })
})
