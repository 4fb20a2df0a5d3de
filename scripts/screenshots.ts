// Writes the README's screenshots of the settings page and of several stores (the switcher,
// /stores) (PNG) from demo data, using a temporary data directory, the real server on a free
// port and Chromium:
//   bun scripts/screenshots.ts [OUT_DIR]      (OUT_DIR: docs/screenshots by default)
import { mkdirSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { createOrResetAdmin, startSession } from '../src/domain/admins.ts'
import { generateDemo } from '../src/domain/demo.ts'
import { createApiKey } from '../src/domain/keys.ts'
import { createStore } from '../src/domain/stores.ts'
import { syncPeriod } from '../src/domain/sync.ts'
import { launchBrowser } from '../test/browser.ts'
import { createTestApp, listen } from '../test/utils.ts'

const OUT = process.argv[2] ?? 'docs/screenshots'
mkdirSync(OUT, { recursive: true })

const t = await createTestApp({
  now: '2026-11-26T15:00:00Z',
  settings: {
    store_name: 'Acme Outfitters',
    store_email: 'hello@acme.example',
    timezone: 'America/New_York',
    api_enabled: 'true',
  },
  env: { MIDA_BASE_URL: 'https://analytics.acme.example' },
})
const server = listen(t.app)
let browser: Browser | undefined
try {
  browser = await launchBrowser()
  await generateDemo(t.data, t.store, 'America/New_York', { days: 30, seed: 7 }, t.clock)
  await createApiKey(t.data, t.store, 'Looker Studio', 'export', t.clock)
  await createApiKey(t.data, t.store, 'Google Sheets import', 'ingest', t.clock)
  await syncPeriod(t.data, t.store, { trigger: 'scheduler', strictFrequency: false }, t.clock)
  const { admin } = await createOrResetAdmin(
    t.data,
    'owner@acme.example',
    'screenshot only',
    t.clock,
  )
  const session = await startSession(t.data, admin.id, t.clock)
  const cookie = { name: 'mida_session', value: session.token, url: server.url }

  const desktop = await browser.newContext({ viewport: { width: 1366, height: 900 } })
  await desktop.addCookies([cookie])
  const page = await desktop.newPage()
  await page.goto(`${server.url}/settings`)
  await page.screenshot({ path: `${OUT}/settings.png` })

  await page.getByLabel('Key name').fill('Data warehouse')
  await page.getByRole('button', { name: 'Generate API Key' }).click()
  await page.locator('#new-key-value').waitFor()
  await page.getByRole('combobox', { name: 'Data Sync Frequency' }).selectOption('weekly')
  await page.getByLabel('Notify me when data sync is successful').check()
  // The section as the nav shows it: its top just under the sticky top bar.
  await page.locator('#section-api-keys').evaluate((e) => e.scrollIntoView())
  await page.screenshot({ path: `${OUT}/settings-new-key.png` })
  await page.locator('#section-sync').evaluate((e) => e.scrollIntoView())
  await page.screenshot({ path: `${OUT}/settings-unsaved.png` })
  await desktop.close()

  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
  })
  await phone.addCookies([cookie])
  const mobile = await phone.newPage()
  await mobile.goto(`${server.url}/settings`)
  await mobile.screenshot({ path: `${OUT}/settings-phone.png` })
  await mobile.locator('#section-api-keys').evaluate((e) => e.scrollIntoView())
  await mobile.screenshot({ path: `${OUT}/settings-phone-keys.png` })
  await phone.close()

  const dark = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    colorScheme: 'dark',
  })
  await dark.addCookies([cookie])
  const darkPage = await dark.newPage()
  await darkPage.goto(`${server.url}/settings`)
  await darkPage.screenshot({ path: `${OUT}/settings-dark.png` })
  await dark.close()

  const darkPhone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    colorScheme: 'dark',
  })
  await darkPhone.addCookies([cookie])
  const darkMobile = await darkPhone.newPage()
  await darkMobile.goto(`${server.url}/settings#section-sync-log`)
  await darkMobile.screenshot({ path: `${OUT}/settings-phone-dark.png` })
  await darkPhone.close()

  // Two more stores, in euros and pounds: the switcher and /stores.
  for (const store of [
    { slug: 'acme-europe', name: 'Acme Europe', timezone: 'Europe/Berlin', currency: 'EUR' },
    { slug: 'acme-uk', name: 'Acme UK', timezone: 'Europe/London', currency: 'GBP' },
  ]) {
    const created = await createStore(t.data, store, t.clock, { actor: 'cli', address: null })
    const dailySessions = store.currency === 'EUR' ? 180 : 90
    const seed = store.currency === 'EUR' ? 11 : 3
    await generateDemo(t.data, created, store.timezone, { days: 30, seed, dailySessions }, t.clock)
  }
  const stores = await browser.newContext({ viewport: { width: 1366, height: 900 } })
  await stores.addCookies([cookie])
  const storesPage = await stores.newPage()
  await storesPage.goto(`${server.url}/settings`)
  await storesPage.locator('#store-switcher summary').click()
  await storesPage.locator('#store-switcher ul').waitFor()
  await storesPage.screenshot({
    path: `${OUT}/store-switcher.png`,
    clip: { x: 0, y: 0, width: 1366, height: 520 },
  })
  await storesPage.goto(`${server.url}/stores`)
  await storesPage.screenshot({ path: `${OUT}/stores.png`, fullPage: true })
  await stores.close()

  // A fresh install: no data yet, the API still deactivated.
  const fresh = await createTestApp({
    now: '2026-11-26T15:00:00Z',
    settings: {
      store_name: 'New Shop',
      store_email: 'owner@newshop.example',
      timezone: 'Europe/Paris',
    },
  })
  const freshServer = listen(fresh.app)
  try {
    const owner = await createOrResetAdmin(
      fresh.data,
      'owner@newshop.example',
      'screenshot only',
      fresh.clock,
    )
    const freshSession = await startSession(fresh.data, owner.admin.id, fresh.clock)
    const first = await browser.newContext({ viewport: { width: 1366, height: 900 } })
    await first.addCookies([
      { name: 'mida_session', value: freshSession.token, url: freshServer.url },
    ])
    const firstPage = await first.newPage()
    await firstPage.goto(`${freshServer.url}/settings`)
    await firstPage.screenshot({ path: `${OUT}/settings-first-run.png` })
    await firstPage.getByLabel('Key name').fill('Looker Studio')
    await firstPage.getByRole('button', { name: 'Generate API Key' }).click()
    await firstPage.locator('#new-key-value').waitFor()
    await firstPage.getByRole('button', { name: 'Test this key' }).click()
    await firstPage.locator('.key-test-body').waitFor()
    await firstPage.locator('#section-api-keys').evaluate((e) => e.scrollIntoView())
    await firstPage.screenshot({ path: `${OUT}/settings-first-key.png` })
    await first.close()
  } finally {
    await freshServer.stop()
    fresh.close()
  }
  console.log(`Screenshots written to ${OUT}/`)
} finally {
  await browser?.close()
  await server.stop()
  t.close()
}
