import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, issueSetupToken, startSession } from '../../src/domain/admins.ts'
import { recentAudit, recordAudit } from '../../src/domain/audit.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { listApiKeys } from '../../src/domain/keys.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, createTestApp, type TestApp } from '../utils.ts'

let t: TestApp
let cookie: string
let csrf: string

beforeEach(async () => {
  t = await createTestApp({ env: { MIDA_TRUST_PROXY: 'true' } })
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const s = await startSession(t.data, admin.id, t.clock)
  cookie = `mida_session=${s.token}`
  csrf = s.csrfToken
})
afterEach(() => t.close())

const FROM = '198.51.100.7'

function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return t.request(path, {
    method: 'POST',
    headers: {
      cookie,
      'hx-request': 'true',
      'x-csrf-token': csrf,
      'x-forwarded-for': FROM,
      ...headers,
    },
    body: new URLSearchParams(fields),
  })
}

/** The audit log, oldest first, without ids and store. */
const log = async () =>
  (await recentAudit(t.data, t.store))
    .reverse()
    .map((e) => [e.actor, e.address, e.action, e.detail])

describe('the audit log over HTTP', () => {
  test('keys created, regenerated and revoked, with the admin and the address', async () => {
    expect((await post('/settings/keys', { name: 'Looker', scope: 'export' })).status).toBe(200)
    const key = (await listApiKeys(t.data, t.store))[0]!
    expect((await post(`/settings/keys/${key.id}/regenerate`, {})).status).toBe(200)
    const fresh = (await listApiKeys(t.data, t.store)).find((k) => k.revokedAt === null)!
    expect((await post(`/settings/keys/${fresh.id}/revoke`, {})).status).toBe(200)
    expect(await log()).toEqual([
      ['me@shop.example', FROM, 'key.created', `"Looker" (export, ${key.prefix}…)`],
      [
        'me@shop.example',
        FROM,
        'key.regenerated',
        `"Looker" (export, ${key.prefix}…) → ${fresh.prefix}…`,
      ],
      ['me@shop.example', FROM, 'key.revoked', `"Looker" (export, ${fresh.prefix}…)`],
    ])
  })

  test('API switched on and off, settings changed by name, never a secret value; refused saves are not logged', async () => {
    await post('/settings', { api_enabled: 'true', store_name: 'Shop', smtp_password: 'hunter2' })
    await post('/settings', { api_enabled: 'false' })
    await post('/settings', { store_name: 'Shop' }) // nothing changed: nothing logged
    expect((await post('/settings', { sync_hour: '99' })).status).toBe(422)
    expect(await log()).toEqual([
      ['me@shop.example', FROM, 'api.enabled', ''],
      ['me@shop.example', FROM, 'settings.changed', 'store_name, smtp_password'],
      ['me@shop.example', FROM, 'api.disabled', ''],
    ])
    expect(JSON.stringify(await recentAudit(t.data, t.store))).not.toContain('hunter2')
  })

  test('logins, failed logins, the throttled login, logout and the first admin from the setup link', async () => {
    const login = async (password: string, email = 'me@shop.example') => {
      const page = await t.request('/login')
      const field = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
      return t.request('/login', {
        method: 'POST',
        headers: {
          cookie: page.headers.get('set-cookie')!.split(';')[0]!,
          'x-forwarded-for': FROM,
        },
        body: new URLSearchParams({ _csrf: field, email, password }),
      })
    }
    expect((await login('a good password')).status).toBe(303)
    for (let i = 0; i < 5; i++) await login('wrong', 'who@evil.example')
    expect((await login('a good password')).status).toBe(429)
    expect((await post('/logout', {})).status).toBe(303)
    expect(await log()).toEqual([
      ['me@shop.example', FROM, 'login', ''],
      ...Array.from({ length: 5 }, () => ['who@evil.example', FROM, 'login.failed', '']),
      ['me@shop.example', FROM, 'login.throttled', ''],
      ['me@shop.example', FROM, 'logout', ''],
    ])

    const fresh = await createTestApp()
    try {
      const { token } = await issueSetupToken(fresh.data, fresh.clock)
      const res = await fresh.request('/setup', {
        method: 'POST',
        body: new URLSearchParams({
          token,
          email: 'first@shop.example',
          password: 'a good password',
          password_confirm: 'a good password',
        }),
      })
      expect(res.status).toBe(303)
      expect(
        (await recentAudit(fresh.data, fresh.store)).map((e) => [e.actor, e.action, e.detail]),
      ).toEqual([['first@shop.example', 'admin.created', 'setup link']])
    } finally {
      fresh.close()
    }
  })

  test('the settings page shows the log, every string escaped; the fragment refreshes for admins only', async () => {
    await recordAudit(
      t.data,
      {
        storeId: t.storeId,
        actor: '<script>alert(1)</script>',
        address: '"><img src=x>',
        action: 'login.failed',
        detail: 'a & b',
      },
      t.clock,
    )
    const page = await (await t.request('/settings', { headers: { cookie } })).text()
    expect(page).toContain('<section id="section-audit"')
    expect(page).toContain('<td data-label="Who">&lt;script&gt;alert(1)&lt;/script&gt;</td>')
    expect(page).toContain('<td data-label="Address">&quot;&gt;&lt;img src=x&gt;</td>')
    expect(page).toContain(
      '<td data-label="What">Failed login</td><td data-label="Detail">a &amp; b</td>',
    )
    expect(page).not.toContain('<script>alert(1)')
    const fragment = await t.request('/settings/audit', {
      headers: { cookie, 'hx-request': 'true' },
    })
    expect(fragment.status).toBe(200)
    expect(await fragment.text()).toStartWith('<div id="audit-log">')
    expect((await t.request('/settings/audit', { headers: { 'hx-request': 'true' } })).status).toBe(
      401,
    )
  })
})

describe('the audit log from the command line', () => {
  test('keys, settings and admins changed with the CLI are logged with actor "cli"', async () => {
    const dir = t.dir
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const cli = async (...args: string[]) => {
      const io = captureIo(dir, '', {
        MIDA_DATA_DIR: dir,
        ...(t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}),
      })
      expect([args.join(' '), await runCli(args, io, clock), io.stderr()]).toEqual([
        args.join(' '),
        0,
        '',
      ])
    }
    await cli('keys', 'create', '--name', 'loader', '--scope', 'ingest')
    await cli('keys', 'regenerate', 'loader')
    await cli('keys', 'revoke', 'loader')
    await cli(
      'settings',
      'set',
      'api_enabled=true',
      'currency=EUR',
      'shopify_webhook_secret=s3cr3t',
    )
    await cli('admin', 'create', '--email', 'two@shop.example', '--password', 'another password')
    await cli('admin', 'create', '--email', 'two@shop.example', '--password', 'a third password')
    // Read through the app's own data layer: what the CLI wrote is seen, the read cache dropped.
    const keys = await listApiKeys(t.data, t.store)
    const [first, second] = [keys.find((k) => k.id === 1)!, keys.find((k) => k.id === 2)!]
    const entries = (await recentAudit(t.data, t.store))
      .reverse()
      .map((e) => [e.actor, e.address, e.action, e.detail])
    expect(entries).toEqual([
      ['cli', null, 'key.created', `"loader" (ingest, ${first.prefix}…)`],
      ['cli', null, 'key.regenerated', `"loader" (ingest, ${first.prefix}…) → ${second.prefix}…`],
      ['cli', null, 'key.revoked', `"loader" (ingest, ${second.prefix}…)`],
      ['cli', null, 'api.enabled', ''],
      ['cli', null, 'settings.changed', 'currency, shopify_webhook_secret'],
      ['cli', null, 'admin.created', 'two@shop.example'],
      ['cli', null, 'admin.reset', 'two@shop.example'],
    ])
    expect(JSON.stringify(entries)).not.toContain('s3cr3t')
  })
})
