import { afterEach, describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { loadConfig } from '../../src/config.ts'
import { type Core, closeCore, openCore } from '../../src/core.ts'
import { SEALED_PREFIX } from '../../src/domain/secrets.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { displaySettings } from '../../src/domain/settingsForm.ts'
import { createApp } from '../../src/http/app.ts'
import { createTestApp, type TestApp } from '../utils.ts'

// Needs the settings.ts change that seals and opens SECRET_SETTINGS (see src/domain/secrets.ts).
const KEY = 'a-long-random-secret-key-0123456789'
let t: TestApp
const reopened: Core[] = []
afterEach(async () => {
  for (const core of reopened.splice(0)) await closeCore(core)
  t?.close()
})

/** The same data directory opened again, as a restart with other environment would. */
async function restart(env: Record<string, string>) {
  const database = t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}
  const config = loadConfig({ env: { MIDA_DATA_DIR: t.dir, ...database, ...env }, cwd: t.dir })
  const core = await openCore({ config, clock: t.clock })
  reopened.push(core)
  const app = createApp(core)
  return {
    data: core.data,
    request: (path: string, init?: RequestInit) =>
      app.handle(new Request(`http://localhost${path}`, init)),
  }
}

const stored = async (key: string) =>
  (
    await t.data.get<{ value: string }>(
      'SELECT value FROM store_settings WHERE store_id = ? AND key = ?',
      t.storeId,
      key,
    )
  )?.value

describe('secrets at rest', () => {
  test('with MIDA_SECRET_KEY the SMTP password and the webhook secret are stored encrypted', async () => {
    t = await createTestApp({ env: { MIDA_SECRET_KEY: KEY } })
    await updateSettings(
      t.data,
      t.store,
      { smtp_password: 'smtp-hunter2', shopify_webhook_secret: 'shpss_abc', smtp_user: 'me' },
      t.clock,
    )
    expect(await stored('smtp_password')).toStartWith(SEALED_PREFIX)
    expect(await stored('shopify_webhook_secret')).toStartWith(SEALED_PREFIX)
    expect(await stored('smtp_user')).toBe('me')
    const s = await readSettings(t.data, t.store)
    expect([s.smtp_password, s.shopify_webhook_secret]).toEqual(['smtp-hunter2', 'shpss_abc'])
  })

  test('without it they are stored as typed (documented); with it later, the next start encrypts them', async () => {
    t = await createTestApp()
    await updateSettings(t.data, t.store, { smtp_password: 'smtp-hunter2' }, t.clock)
    expect(await stored('smtp_password')).toBe('smtp-hunter2')
    const later = await restart({ MIDA_SECRET_KEY: KEY })
    expect(await stored('smtp_password')).toStartWith(SEALED_PREFIX)
    expect((await readSettings(later.data, t.store)).smtp_password).toBe('smtp-hunter2')
    await updateSettings(later.data, t.store, { store_name: 'Renamed' }, t.clock)
    expect(await stored('smtp_password')).toStartWith(SEALED_PREFIX)
    expect((await readSettings(later.data, t.store)).smtp_password).toBe('smtp-hunter2')
  })

  test('a wrong key: start-up works, the webhook says what is wrong, a new secret repairs it', async () => {
    t = await createTestApp({ env: { MIDA_SECRET_KEY: KEY } })
    await updateSettings(t.data, t.store, { shopify_webhook_secret: 'shpss_abc' }, t.clock)
    const wrong = await restart({ MIDA_SECRET_KEY: 'not-the-key-it-was-saved-with' })
    const settings = await readSettings(wrong.data, t.store)
    expect(displaySettings(settings, 'MIDA-x').shopify_webhook_secret).toBe('(set)')
    const body = JSON.stringify({ id: 1, created_at: '2026-11-25T10:00:00Z', total_price: '1.00' })
    const res = await wrong.request('/apiv1/webhooks/shopify/orders', {
      method: 'POST',
      headers: {
        'x-shopify-topic': 'orders/create',
        'x-shopify-hmac-sha256': createHmac('sha256', 'shpss_abc').update(body).digest('base64'),
      },
      body,
    })
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      success: false,
      error:
        'The webhook signing secret is stored encrypted and cannot be decrypted: MIDA_SECRET_KEY is not set or is not the key it was saved with (set that key, or enter the secret again)',
    })
    // Entering the secret again (under the current key) repairs it.
    await updateSettings(wrong.data, t.store, { shopify_webhook_secret: 'shpss_new' }, t.clock)
    expect((await readSettings(wrong.data, t.store)).shopify_webhook_secret).toBe('shpss_new')
  })
})
