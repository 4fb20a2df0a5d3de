import { expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createApiKey, listApiKeys } from '../../src/domain/keys.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import type { TestApp } from '../utils.ts'
import {
  type BrowserHarness,
  hasText,
  isHidden,
  isVisible,
  openPage,
  useBrowserHarness,
} from './harness.ts'

// The key options in Chromium: the expiry date field appears when asked for, the report key's
// Sheets formula is copied, and "Regenerate secret key" sends the grace chosen (htmx's
// hx-include), none of it marking the settings unsaved.
setDefaultTimeout(30_000)

let t: TestApp
let server: BrowserHarness['server']
let browser: Browser

useBrowserHarness((started) => {
  ;({ t, server, browser } = started)
})

const sync = (key: string) =>
  fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mida-secret-key': key },
  })

test('a report key expiring on a date, its formula copied; Regenerate with a 24-hour grace', async () => {
  await updateSettings(
    t.data,
    t.store,
    { api_enabled: 'true', timezone: 'America/New_York' },
    t.clock,
  )
  const old = await createApiKey(t.data, t.store, 'Looker', 'export', t.clock)
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const session = await startSession(t.data, admin.id, t.clock)
  const context = await browser.newContext()
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
  await context.addCookies([{ name: 'mida_session', value: session.token, url: server.url }])
  const { page, errors } = await openPage(context)
  await page.goto(`${server.url}/settings`)

  // The date field shows only once "on a date…" is chosen; neither marks the page unsaved.
  const date = page.getByLabel('Expiry date')
  await isHidden(date)
  await page.getByLabel('Expires').selectOption('date')
  await isVisible(date)
  await date.fill('2027-03-15')
  await page.getByLabel('Key name').fill('Sheet')
  await page.getByLabel('Scope').selectOption('report')
  await isHidden(page.locator('#unsaved'))
  await page.getByRole('button', { name: 'Generate API Key' }).click()
  await hasText(page.locator('#new-key-value'), /^mida_sk_/)
  const key = (await page.locator('#new-key-value').textContent())!
  const formula = `=IMPORTDATA("${t.config.baseUrl}/apiv1/analytics/report?format=csv&token=${key}")`
  await hasText(page.locator('#new-key-sheets'), formula)
  await page.locator('[data-copy="new-key-sheets"]').click()
  await hasText(page.locator('[data-copy="new-key-sheets"]'), 'Copied')
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(formula)
  const sheet = page.locator('#api-keys tbody tr', { hasText: 'Sheet' })
  await hasText(sheet.locator('.key-state'), 'expires 2027-03-15 00:00')
  const stored = (await listApiKeys(t.data, t.store)).find((k) => k.name === 'Sheet')!
  expect([stored.scope, new Date(stored.expiresAt!).toISOString()]).toEqual([
    'report',
    '2027-03-15T04:00:00.000Z',
  ])

  // Regenerate with the old key answering 24 hours more.
  await page.getByLabel(/the old key keeps answering/).selectOption('24h')
  await isHidden(page.locator('#unsaved'))
  const looker = page.locator(`#key-${old.key.id}`)
  await looker.getByRole('button', { name: 'Regenerate secret key' }).click()
  await hasText(looker.locator('.key-state'), 'old key, answers until 2026-11-27 01:00')
  const fresh = (await page.locator('#new-key-value').textContent())!
  expect(fresh).not.toBe(key)
  expect((await sync(old.secret)).status).toBe(200)
  expect((await sync(fresh)).status).toBe(200)
  // Revoke ends the grace at once.
  await looker.getByRole('button', { name: 'Revoke' }).click()
  await hasText(looker.locator('.revoked-note'), 'Revoked')
  expect((await sync(old.secret)).status).toBe(401)
  expect((await sync(fresh)).status).toBe(200)
  expect(errors).toEqual([])
  await context.close()
})
