import { expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { DST_WEEK, seedDstWeek } from '../reportData.ts'
import type { TestApp } from '../utils.ts'
import { type BrowserHarness, hasText, isHidden, openPage, useBrowserHarness } from './harness.ts'

setDefaultTimeout(30_000)

let t: TestApp
let server: BrowserHarness['server']
let browser: Browser

useBrowserHarness((started) => {
  ;({ t, server, browser } = started)
})

test("the Reports box in Chromium: Download CSV gives the API's CSV, Copy gives the formula, Save is untouched", async () => {
  await updateSettings(
    t.data,
    t.store,
    { timezone: 'America/New_York', api_enabled: true },
    t.clock,
  )
  await seedDstWeek(t.data, t.store, t.clock)
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const session = await startSession(t.data, admin.id, t.clock)
  const context = await browser.newContext({ acceptDownloads: true })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
  await context.addCookies([{ name: 'mida_session', value: session.token, url: server.url }])
  const { page, errors } = await openPage(context)
  await page.goto(`${server.url}/settings`)

  await page.locator('#report-from').fill(DST_WEEK.from)
  await page.locator('#report-to').fill(DST_WEEK.to)
  await page.getByLabel('One row per').selectOption('source')
  // The report's inputs belong to their own form: the settings form has no unsaved change.
  await isHidden(page.locator('#unsaved'))
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ])
  expect(download.suggestedFilename()).toBe('default-2026-10-26_2026-11-01.csv')
  const downloaded = readFileSync((await download.path())!, 'utf8')
  const key = (await createApiKey(t.data, t.store, 'sheets', 'report', t.clock)).secret
  const api = await fetch(
    `${server.url}/apiv1/analytics/report?format=csv&from=${DST_WEEK.from}&to=${DST_WEEK.to}&dimension=source&token=${key}`,
  )
  expect(downloaded).toBe(await api.text())
  expect(downloaded.split('\r\n')[0]).toStartWith('source,visitors,sessions,')

  await page.locator('[data-copy="report-formula"]').click()
  await hasText(page.locator('[data-copy="report-formula"]'), 'Copied')
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
    `=IMPORTDATA("${t.config.baseUrl}/apiv1/analytics/report?format=csv&from=2026-10-27&to=2026-11-25&token=YOUR_REPORT_KEY")`,
  )
  expect(errors).toEqual([])
  await context.close()
})
