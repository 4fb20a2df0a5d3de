// Writes the README's screenshots of the settings page and of several stores (the switcher,
// /stores), of the key options, the Reports box, the destinations and /docs (PNG) from demo
// data, using a temporary data directory, the real server on a free port, a loopback receiver
// for the deliveries and Chromium:
//   bun scripts/screenshots.ts [OUT_DIR]      (OUT_DIR: docs/screenshots by default)
import { mkdirSync } from 'node:fs'
import type { Browser, Locator } from 'playwright-core'
import { createOrResetAdmin, startSession } from '../src/domain/admins.ts'
import { CLI_ACTOR } from '../src/domain/audit.ts'
import { generateDemo } from '../src/domain/demo.ts'
import { addDestination } from '../src/domain/destinations.ts'
import { createApiKey, regenerateApiKey } from '../src/domain/keys.ts'
import { configuredMailer } from '../src/domain/mailer.ts'
import { OutboxSender } from '../src/domain/outbox.ts'
import { createStore } from '../src/domain/stores.ts'
import { syncPeriod } from '../src/domain/sync.ts'
import { launchBrowser } from '../test/browser.ts'
import { createTestApp, listen } from '../test/utils.ts'

const OUT = process.argv[2] ?? 'docs/screenshots'
mkdirSync(OUT, { recursive: true })

/**
 * An element alone, cropped from the whole page taken at once (an element screenshot scrolls,
 * and the sticky top bar would then cover the element's top).
 */
async function shootElement(element: Locator, path: string): Promise<void> {
  await element.page().evaluate(() => window.scrollTo(0, 0))
  const box = await element.boundingBox()
  if (!box) throw new Error(`${path}: the element is not shown`)
  await element.page().screenshot({ path, fullPage: true, clip: box })
}

const t = await createTestApp({
  now: '2026-11-26T15:00:00Z',
  settings: {
    store_name: 'Acme Outfitters',
    store_email: 'hello@acme.example',
    timezone: 'America/New_York',
    api_enabled: 'true',
  },
  // The destinations' receiver is on loopback (no network needed).
  env: {
    MIDA_BASE_URL: 'https://analytics.acme.example',
    MIDA_ALLOW_PRIVATE_DESTINATIONS: 'true',
  },
})
const server = listen(t.app)
// The receiver of the destinations: answers as `reply` says (Slack's 200 "ok" by default).
let reply = () => new Response('ok')
const receiver = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => reply() })
const receiverUrl = `http://127.0.0.1:${receiver.port}`
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

  // The key options: one expiring in 3 days, one regenerated in its grace period, a report key
  // and an expired one (issued on 1 September, before the clock is put back).
  const cli = { storeId: t.store.id, actor: CLI_ACTOR, address: null }
  const start = t.clock.now()
  t.clock.set(Temporal.Instant.from('2026-09-01T14:00:00Z'))
  await createApiKey(t.data, t.store, 'Summer agency', 'export', t.clock, cli, {
    expiresAt: Temporal.Instant.from('2026-11-20T05:00:00Z').epochMilliseconds,
  })
  t.clock.set(start)
  const day = 24 * 3_600_000
  await createApiKey(t.data, t.store, 'Partner dashboard', 'export', t.clock, cli, {
    expiresAt: start.epochMilliseconds + 3 * day,
  })
  await regenerateApiKey(t.data, t.store, 'Looker Studio', t.clock, cli, { graceMs: 7 * day })
  await createApiKey(t.data, t.store, 'Finance sheet', 'report', t.clock, cli)
  const more = await browser.newContext({ viewport: { width: 1366, height: 900 } })
  await more.addCookies([cookie])
  const morePage = await more.newPage()
  await morePage.goto(`${server.url}/settings`)
  await shootElement(morePage.locator('#section-api-keys'), `${OUT}/keys-options.png`)
  await shootElement(morePage.locator('#section-reports'), `${OUT}/reports.png`)
  // A report key generated on the page: its shown-once box with the Google Sheets formula.
  await morePage.getByLabel('Key name').fill('Weekly KPIs sheet')
  await morePage.getByRole('combobox', { name: 'Scope' }).selectOption('report')
  await morePage.getByRole('button', { name: 'Generate API Key' }).click()
  await morePage.locator('#new-key-sheets').waitFor()
  await shootElement(morePage.locator('#api-keys .new-key'), `${OUT}/report-key-formula.png`)

  // A Slack destination, added three days earlier (the clock is put back): a delivery given up
  // (the receiver failing for 24 hours), one sent, and one retrying (the receiver failing now),
  // each a scheduled daily sync of the day before, delivered by the outbox's sender.
  t.clock.set(start.subtract({ hours: 72 }))
  await addDestination(
    t.data,
    t.store,
    { type: 'slack', url: `${receiverUrl}/services/T0DEMO/B0DEMO/demo`, name: 'Team Slack' },
    t.clock,
    { allowPrivate: true },
    cli,
  )
  const sender = new OutboxSender({
    data: t.data,
    clock: t.clock,
    mailer: configuredMailer(t.config, t.data),
    baseUrl: 'https://analytics.acme.example',
    destinations: { allowPrivate: true },
  })
  const scheduledSync = (date: string) =>
    syncPeriod(
      t.data,
      t.store,
      {
        frequency: 'daily',
        date: Temporal.PlainDate.from(date),
        trigger: 'scheduler',
        strictFrequency: false,
      },
      t.clock,
    )
  /** Runs the sender at each next attempt of the latest delivery while it is pending. */
  const retry = async (times: number) => {
    for (let i = 0; i < times; i++) {
      const rows = await t.data.all<{ status: string; next_attempt_at: number }>(
        'SELECT status, next_attempt_at FROM outbox WHERE destination_id IS NOT NULL ORDER BY id',
      )
      const row = rows.at(-1)
      if (row?.status !== 'pending') return
      t.clock.set(Temporal.Instant.fromEpochMilliseconds(row.next_attempt_at))
      await sender.runOnce()
    }
  }
  reply = () => new Response('internal_error', { status: 500 })
  await scheduledSync('2026-11-22')
  await sender.runOnce()
  await retry(Number.POSITIVE_INFINITY)
  reply = () => new Response('ok')
  t.clock.set(start.subtract({ hours: 48 }))
  await scheduledSync('2026-11-23')
  await sender.runOnce()
  reply = () => new Response('service unavailable', { status: 503 })
  t.clock.set(start.subtract({ hours: 24 }))
  await scheduledSync('2026-11-24')
  await sender.runOnce()
  await retry(4)
  // Then a webhook added on the page: its signing secret, shown once.
  await morePage.goto(`${server.url}/settings`)
  await morePage.getByRole('combobox', { name: 'Type' }).selectOption('webhook')
  await morePage.getByLabel('URL').fill(`${receiverUrl}/mida/syncs`)
  await morePage.getByLabel('Name', { exact: true }).fill('Data warehouse webhook')
  await morePage.getByRole('button', { name: 'Add destination' }).click()
  await morePage.locator('#new-destination-secret').waitFor()
  await shootElement(morePage.locator('#section-destinations'), `${OUT}/destinations.png`)
  await more.close()

  // The API reference: the top of /docs.
  const docs = await browser.newContext({ viewport: { width: 1366, height: 900 } })
  const docsPage = await docs.newPage()
  await docsPage.goto(`${server.url}/docs`)
  await docsPage.screenshot({ path: `${OUT}/docs.png` })
  await docs.close()

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
  await receiver.stop(true)
  t.close()
}
