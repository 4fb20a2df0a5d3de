import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import { ensureAdminAtStartup } from '../../src/cli/admin.ts'
import { generateDemo } from '../../src/domain/demo.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'
import {
  type BrowserHarness,
  eventually,
  hasCount,
  hasText,
  hasValue,
  isChecked,
  isHidden,
  isVisible,
  recordedPage,
  useBrowserHarness,
} from './harness.ts'

// A real browser path takes a few seconds; each wait inside is bounded by `eventually`.
setDefaultTimeout(30_000)

let t: TestApp
let server: BrowserHarness['server']
let browser: Browser

useBrowserHarness(async (started) => {
  ;({ t, server, browser } = started)
  // The harness clock is 2026-11-26T06:00:00Z: Thursday 01:00 in New York.
  await updateSettings(t.data, t.store, { timezone: 'America/New_York' }, t.clock)
})

const PASSWORD = 'correct horse battery'

async function logIn(page: Page, base: string, email = 'me@shop.example') {
  await page.goto(`${base}/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${base}/settings`)
}

/** The checklist's ticks, as [step, done] pairs. */
const ticks = (page: Page) =>
  page
    .locator('#overview [data-step]')
    .evaluateAll((steps) => steps.map((s) => [s.getAttribute('data-step'), s.dataset.done]))

describe('the settings page for a first run, in Chromium', () => {
  test('setup link: the admin is the recipient; a new key while the API is off warns, tests 403, activates in one click, tests 200', async () => {
    const lines: string[] = []
    await ensureAdminAtStartup(t.data, t.config, t.clock, (l) => lines.push(l))
    const link = /\/setup\?token=[0-9A-Za-z]+/.exec(lines.join('\n'))![0]
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await page.goto(server.url + link)
    await page.getByLabel('Email').fill('me@shop.example')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByLabel('Repeat the password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Create admin' }).click()
    await page.waitForURL(`${server.url}/settings`)

    // The recipient is the admin's email; only the missing SMTP server is warned about.
    await hasValue(page.getByLabel('Store email'), 'me@shop.example')
    await hasText(
      page.locator('#field-notify_recipient-msg'),
      'Empty: the store email (me@shop.example).',
    )
    await hasCount(page.locator('#notify-warning-recipient'), 0)
    await hasText(
      page.locator('#notify-warning-smtp strong'),
      'Failure emails are on but no SMTP server is configured',
    )

    // An empty store: the checklist instead of an empty chart, nothing done yet but… nothing.
    await hasCount(page.locator('#overview figure.chart'), 0)
    expect(await ticks(page)).toEqual([
      ['api', 'false'],
      ['key', 'false'],
      ['data', 'false'],
      ['recipient', 'false'],
    ])
    await hasText(
      page.locator('[data-step="recipient"] small'),
      'Emails would go to me@shop.example, but no SMTP server is configured (Email delivery).',
    )

    // An unsaved edit elsewhere, then a key while the API is off.
    await page.getByLabel('Store name').fill('Edited Shop')
    await isVisible(page.locator('#unsaved'))
    await page.getByLabel('Key name').fill('curl')
    await page.getByRole('button', { name: 'Generate API Key' }).click()
    const warning = page.locator('#new-key-api-warning')
    await hasText(warning.locator('strong'), 'API Status is Deactivated')
    // The audit log and the checklist follow the key action without a reload.
    await hasText(
      page.locator('#audit-log tbody tr').first().locator('td').nth(3),
      'API key created',
    )
    await eventually(async () =>
      expect(await ticks(page)).toEqual([
        ['api', 'false'],
        ['key', 'true'],
        ['data', 'false'],
        ['recipient', 'false'],
      ]),
    )

    // Test this key: 403, with the hint and the JSON.
    const result = page.locator('#key-test-result')
    await page.getByRole('button', { name: 'Test this key' }).click()
    await hasText(result.locator('[data-status]'), 'HTTP 403')
    await hasText(result.locator('.key-test-hint'), /^API Status is Deactivated: activate the API/)
    expect(JSON.parse((await result.locator('pre').textContent())!)).toEqual({
      success: false,
      error: 'API is deactivated',
    })

    // One click activates the API: saved and audited, the switch follows, the edit stays.
    await page.getByRole('button', { name: 'Activate the API now' }).click()
    await hasText(warning, 'API Status is now Activated: the key works.')
    await isChecked(page.getByRole('switch', { name: /API Status/ }))
    await hasText(page.locator('.switch-state'), 'Activated')
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(true)
    await hasValue(page.getByLabel('Store name'), 'Edited Shop')
    await isVisible(page.locator('#unsaved'))
    expect((await readSettings(t.data, t.store)).store_name).toBe('My Store')
    await hasText(
      page.locator('#audit-log tbody tr').first().locator('td').nth(3),
      'API switched on',
    )
    await hasText(
      page.locator('#next-sync'),
      'Next sync: Fri 01:00 America/New_York, covering 2026-11-26',
    )
    await eventually(async () => expect((await ticks(page))[0]).toEqual(['api', 'true']))

    // Test again: 200 and the sync's JSON.
    await page.getByRole('button', { name: 'Test this key' }).click()
    await hasText(result.locator('[data-status]'), 'HTTP 200')
    const body = JSON.parse((await result.locator('pre').textContent())!)
    expect([body.success, body.message, body.period.label]).toEqual([
      true,
      'Sync successful',
      '2026-11-25',
    ])
    await hasCount(result.locator('.key-test-hint'), 0)

    // Save keeps the activation and saves the edit.
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    await isHidden(page.locator('#unsaved'))
    expect((await readSettings(t.data, t.store)).store_name).toBe('Edited Shop')
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(true)

    expect({ problems: r.problems, statuses: r.statuses }).toEqual({ problems: [], statuses: [] })
    await context.close()
  })

  test('a clean form stays clean after Activate; Save moves the next sync and the warnings; revoke refreshes the audit log', async () => {
    await updateSettings(t.data, t.store, { api_enabled: 'false' }, t.clock)
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page, server.url)
    await hasText(
      page.locator('#next-sync'),
      'No scheduled sync while API Status is Deactivated. Once activated, the next: Fri 01:00 America/New_York, covering 2026-11-26',
    )
    await page.getByLabel('Key name').fill('second')
    await page.getByRole('button', { name: 'Generate API Key' }).click()
    await page.getByRole('button', { name: 'Activate the API now' }).click()
    await hasText(
      page.locator('#new-key-api-warning'),
      'API Status is now Activated: the key works.',
    )
    await isChecked(page.getByRole('switch', { name: /API Status/ }))
    await isHidden(page.locator('#unsaved'))

    // Weekly, saved: the next-sync line follows.
    await page.getByRole('combobox', { name: 'Data Sync Frequency' }).selectOption('weekly')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    await hasText(
      page.locator('#next-sync'),
      'Next sync: Mon 01:00 America/New_York, covering 2026-11-23 – 2026-11-29',
    )

    // An SMTP server, saved: the warning goes and the checklist ticks the recipient.
    await hasCount(page.locator('#notify-warning-smtp'), 1)
    await page.getByLabel('SMTP host').fill('smtp.shop.example')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    await hasCount(page.locator('#notify-warning-smtp'), 0)
    await eventually(async () => expect((await ticks(page))[3]).toEqual(['recipient', 'true']))
    // No recipient at all: that warning appears.
    await page.getByLabel('Store email').fill('')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    await hasText(
      page.locator('#notify-warning-recipient strong'),
      'Failure emails are on but no recipient',
    )

    await page.locator('tr', { hasText: 'second' }).getByRole('button', { name: 'Revoke' }).click()
    await hasText(
      page.locator('#audit-log tbody tr').first().locator('td').nth(3),
      'API key revoked',
    )

    expect({ problems: r.problems, statuses: r.statuses }).toEqual({ problems: [], statuses: [] })
    await context.close()
  })

  test('after Activate, Save compares the switch with the activation, not with the page load', async () => {
    await updateSettings(t.data, t.store, { api_enabled: 'false', store_name: 'My Store' }, t.clock)
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page, server.url)
    const activate = async (keyName: string) => {
      await page.getByLabel('Key name').fill(keyName)
      await page.getByRole('button', { name: 'Generate API Key' }).click()
      await page.getByRole('button', { name: 'Activate the API now' }).click()
      await hasText(page.locator('.switch-state'), 'Activated')
      expect((await readSettings(t.data, t.store)).api_enabled).toBe(true)
    }

    // Switched off again on the page and saved: off.
    await activate('first')
    await page.getByRole('switch', { name: /API Status/ }).uncheck()
    await page.getByRole('button', { name: 'Save' }).click()
    await isHidden(page.locator('#unsaved'))
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(false)
    // The new-key box follows the Save: the warning is back.
    await hasText(page.locator('#new-key-api-warning strong'), 'API Status is Deactivated')

    // Switched off elsewhere (the command line) after an activation: a Save of another field
    // leaves it off instead of writing the page's switch back.
    await activate('second')
    await updateSettings(t.data, t.store, { api_enabled: 'false' }, t.clock)
    await page.getByLabel('Store name').fill('Renamed')
    await page.getByRole('button', { name: 'Save' }).click()
    await eventually(async () =>
      expect((await readSettings(t.data, t.store)).store_name).toBe('Renamed'),
    )
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(false)
    await hasText(page.locator('.switch-state'), 'Deactivated')
    await hasText(page.locator('#new-key-api-warning strong'), 'API Status is Deactivated')

    // Switched on by a Save of the switch: the box says the key works.
    await page.getByRole('switch', { name: /API Status/ }).check()
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(
      page.locator('#new-key-api-warning'),
      'API Status is now Activated: the key works.',
    )
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(true)
    expect({ problems: r.problems, statuses: r.statuses }).toEqual({ problems: [], statuses: [] })
    await context.close()
  })

  test('MIDA_ADMIN_EMAIL: the admin created at start-up is the recipient', async () => {
    const envApp = await createTestApp({
      env: { MIDA_ADMIN_EMAIL: 'env@shop.example', MIDA_ADMIN_PASSWORD: PASSWORD },
    })
    const envServer = listen(envApp.app)
    try {
      await ensureAdminAtStartup(envApp.data, envApp.config, envApp.clock, () => {})
      const context = await browser.newContext()
      const r = await recordedPage(context)
      const { page } = r
      await logIn(page, envServer.url, 'env@shop.example')
      await hasValue(page.getByLabel('Store email'), 'env@shop.example')
      await hasText(
        page.locator('#field-notify_recipient-msg'),
        'Empty: the store email (env@shop.example).',
      )
      await hasCount(page.locator('#notify-warning-recipient'), 0)
      expect({ problems: r.problems, statuses: r.statuses }).toEqual({ problems: [], statuses: [] })
      await context.close()
    } finally {
      await envServer.stop()
      envApp.close()
    }
  })

  test('with data the chart replaces the checklist, and the sync log shows a sync’s figures', async () => {
    await generateDemo(t.data, t.store, 'America/New_York', { days: 20, seed: 3 }, t.clock)
    await updateSettings(t.data, t.store, { sync_frequency: 'daily', api_enabled: 'true' }, t.clock)
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page, server.url)
    await hasCount(page.locator('#overview [data-step]'), 0)
    await isVisible(page.locator('#overview figure.chart'))
    await hasText(page.locator('#overview [data-axis="revenue-max"]'), /^\$[\d,]+$/)

    // The API call of the first test synced 2026-11-25 before the demo data: the key test
    // there was a real sync. This one recomputes it with the data.
    await page.getByLabel('Key name').fill('figures')
    await page.getByRole('button', { name: 'Generate API Key' }).click()
    await page.getByRole('button', { name: 'Test this key' }).click()
    await hasText(page.locator('#key-test-result [data-status]'), 'HTTP 200')
    const body = JSON.parse((await page.locator('#key-test-result pre').textContent())!)

    await page.locator('#sync-log').getByRole('button', { name: 'Refresh' }).click()
    const details = page.locator('#sync-log details.sync-figures').first()
    await hasText(details.locator('summary'), '2026-11-25')
    await isHidden(details.locator('dl'))
    await details.locator('summary').click()
    await isVisible(details.locator('dl'))
    const fmt = (n: number) => new Intl.NumberFormat('en-US').format(n)
    const figures = await details.locator('dd').evaluateAll((dds) => dds.map((d) => d.textContent))
    expect(figures).toEqual([
      fmt(body.data.total_sessions),
      fmt(body.data.total_visitors),
      fmt(body.data.successful_orders),
      new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(
        body.data.total_revenue,
      ),
      `${(body.data.conversion_rate * 100).toFixed(1)}%`,
    ])
    expect(body.data.total_sessions).toBeGreaterThan(0)
    expect({ problems: r.problems, statuses: r.statuses }).toEqual({ problems: [], statuses: [] })
    await context.close()
  })
})
