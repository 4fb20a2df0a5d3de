import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { ensureAdminAtStartup } from '../../src/cli/admin.ts'
import { listApiKeys } from '../../src/domain/keys.ts'
import { readSettings } from '../../src/domain/settings.ts'
import type { TestApp } from '../utils.ts'
import {
  type BrowserHarness,
  hasCount,
  hasText,
  hasValue,
  isChecked,
  isHidden,
  isVisible,
  openPage,
  useBrowserHarness,
} from './harness.ts'

// A real browser path takes a few seconds; each wait inside is bounded by `eventually`.
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

describe('the settings page in Chromium', () => {
  test('first-run setup, API on, a named key, Weekly, notifications, Save, reload, regenerate, log out', async () => {
    const lines: string[] = []
    await ensureAdminAtStartup(t.data, t.config, t.clock, (l) => lines.push(l))
    const link = /\/setup\?token=[0-9A-Za-z]+/.exec(lines.join('\n'))![0]

    const context = await browser.newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    const { page, errors } = await openPage(context)

    // First run: the setup link creates the admin and logs it in.
    await page.goto(server.url + link)
    await page.getByLabel('Email').fill('me@shop.example')
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery')
    await page.getByLabel('Repeat the password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Create admin' }).click()
    await page.waitForURL(`${server.url}/settings`)
    await isHidden(page.locator('#unsaved'))

    // API Status: the switch says what it will be, and the change is visibly unsaved.
    await hasText(page.locator('.switch-state'), 'Deactivated')
    await page.getByRole('switch', { name: /API Status/ }).check()
    await hasText(page.locator('.switch-state'), 'Activated')
    await isVisible(page.locator('#unsaved'))

    // Generate API Key: shown once with Copy and the cURL command; typed settings stay as they are.
    await page.getByLabel('Key name').fill('Looker Studio')
    await page.getByRole('button', { name: 'Generate API Key' }).click()
    const keyText = page.locator('#new-key-value')
    await hasText(keyText, /^mida_sk_[0-9A-Za-z]{38}$/)
    const key = (await keyText.textContent())!
    await hasText(
      page.locator('#new-key-curl'),
      `curl -X POST ${t.config.baseUrl}/apiv1/analytics/sync -H "Content-Type: application/json" -H "x-mida-secret-key: ${key}"`,
    )
    await page.locator('[data-copy="new-key-value"]').click()
    await hasText(page.locator('[data-copy="new-key-value"]'), 'Copied')
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key)
    await isChecked(page.getByRole('switch', { name: /API Status/ }))
    await isVisible(page.locator('#unsaved'))

    // Frequency, notifications, recipient; a typo first: the error sits next to its field.
    await page.getByRole('combobox', { name: 'Data Sync Frequency' }).selectOption('weekly')
    await page.getByLabel('Notify me when data sync is successful').check()
    await page.getByLabel('Recipient').fill('ops@shop')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#field-notify_recipient-msg'), 'must be an email address')
    await hasValue(page.getByLabel('Recipient'), 'ops@shop')
    await hasValue(page.getByRole('combobox', { name: 'Data Sync Frequency' }), 'weekly')
    await hasText(page.locator('#save-status'), '1 field needs attention: nothing was saved.')
    await isVisible(page.locator('#unsaved'))
    expect((await readSettings(t.data, t.store)).sync_frequency).toBe('daily')
    // The 422 itself is the only thing Chromium logged (it logs every 4xx response).
    expect(errors).toEqual([
      `${server.url}/settings: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)`,
    ])
    errors.length = 0

    await page.getByLabel('Recipient').fill('ops@shop.example')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    await isHidden(page.locator('#unsaved'))
    await isVisible(keyText) // the new key panel survives a Save
    const saved = await readSettings(t.data, t.store)
    expect([saved.api_enabled, saved.sync_frequency, saved.notify_success]).toEqual([
      true,
      'weekly',
      true,
    ])
    expect(saved.notify_recipient).toBe('ops@shop.example')
    expect((await sync(key)).status).toBe(200)

    // Reload: everything kept, the key never shown again.
    await page.reload()
    await isChecked(page.getByRole('switch', { name: /API Status/ }))
    await hasText(page.locator('.switch-state'), 'Activated')
    await hasValue(page.getByRole('combobox', { name: 'Data Sync Frequency' }), 'weekly')
    await isChecked(page.getByLabel('Notify me when data sync is successful'))
    await hasValue(page.getByLabel('Recipient'), 'ops@shop.example')
    await hasCount(page.locator('#new-key-value'), 0)
    expect(await page.content()).not.toContain(key)
    await hasCount(page.locator('#api-keys tbody tr'), 1)
    await hasText(page.locator('#api-keys tbody td.key-name'), 'Looker Studio')

    // Regenerate (confirmed): the old key gets 401, the new one 200.
    await page.getByRole('button', { name: 'Regenerate secret key' }).click()
    await hasText(keyText, /^mida_sk_/)
    const fresh = (await keyText.textContent())!
    expect(fresh).not.toBe(key)
    expect((await sync(key)).status).toBe(401)
    expect((await sync(fresh)).status).toBe(200)

    // The sync log shows those calls after a refresh.
    await page.locator('#sync-log').getByRole('button', { name: 'Refresh' }).click()
    const calls = page.locator('#sync-log table').nth(1).locator('tbody tr')
    await hasText(calls.first().locator('td').nth(1), 'Looker Studio')

    // Log out: back to the login page, and the settings are closed again.
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL(`${server.url}/login?logged_out=1`)
    await page.goto(`${server.url}/settings`)
    await page.waitForURL(`${server.url}/login?next=%2Fsettings`)
    expect(errors).toEqual([])

    // Logging in again works and returns to the settings.
    await page.getByLabel('Email').fill('me@shop.example')
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/settings`)
    expect(errors).toEqual([])
    await context.close()
  })

  test('HTML in a key name or store name is shown as text; revoke is confirmed', async () => {
    const context = await browser.newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login`)
    await page.getByLabel('Email').fill('me@shop.example')
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/settings`)

    const evil = '<img src=x onerror="window.pwned=1">'
    await page.getByLabel('Store name').fill(`Shop ${evil}`)
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    await page.getByLabel('Key name').fill(evil)
    await page.getByRole('button', { name: 'Generate API Key' }).click()
    await isVisible(page.locator('#new-key-value'))
    await page.reload()
    await hasText(page.locator('.brand small'), `Shop ${evil}`)
    await hasValue(page.getByLabel('Store name'), `Shop ${evil}`)
    await hasCount(page.locator('td.key-name', { hasText: evil }), 1)
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBe(
      undefined,
    )
    expect(await page.locator('main img').count()).toBe(0)

    let confirmText = ''
    page.removeAllListeners('dialog')
    page.on('dialog', (d) => {
      confirmText = d.message()
      void d.accept()
    })
    await page.locator('tr', { hasText: evil }).getByRole('button', { name: 'Revoke' }).click()
    // The revoked key's row stays in place, marked revoked, without its buttons.
    await hasCount(page.locator('tr.revoked td.key-name', { hasText: evil }), 1)
    await hasCount(page.locator('tr.revoked button'), 0)
    expect(confirmText).toBe(`Revoke the key "${evil}"? Clients using it get 401 from now on.`)
    expect((await listApiKeys(t.data, t.store)).filter((k) => k.revokedAt === null).length).toBe(1)
    expect(errors).toEqual([])
    await context.close()
  })

  test('anonymous requests to admin routes and posts without the CSRF token are refused', async () => {
    const context = await browser.newContext()
    const { page, errors } = await openPage(context)
    for (const path of ['/settings', '/settings/keys', '/settings/sync-log']) {
      await page.goto(server.url + path)
      expect(new URL(page.url()).pathname).toBe('/login')
    }
    const anonymous = await page.evaluate(async () => {
      const r = await fetch('/settings', {
        method: 'POST',
        body: new URLSearchParams({ api_enabled: 'false' }),
      })
      return r.status
    })
    expect(anonymous).toBe(401)

    // Logged in, a forged post without the token (as another site's form would send) is refused.
    await page.goto(`${server.url}/login`)
    await page.getByLabel('Email').fill('me@shop.example')
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/settings`)
    const forged = await page.evaluate(async () => {
      const r = await fetch('/settings', {
        method: 'POST',
        headers: { 'hx-request': 'true' },
        body: new URLSearchParams({ api_enabled: 'false' }),
      })
      return { status: r.status, text: await r.text() }
    })
    expect(forged.status).toBe(403)
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(true)
    // The page's own htmx requests carry the token from <body>.
    await page.getByRole('switch', { name: /API Status/ }).uncheck()
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    expect((await readSettings(t.data, t.store)).api_enabled).toBe(false)
    expect(
      errors.filter((e) => !e.includes('status of 401') && !e.includes('status of 403')),
    ).toEqual([])
    await context.close()
  })

  test('on a phone-sized screen the page has no horizontal scroll and Save stays reachable', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login`)
    await page.getByLabel('Email').fill('me@shop.example')
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/settings`)
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    expect(overflow).toBe(0)
    await page.getByLabel('Recipient').scrollIntoViewIfNeeded()
    expect(
      await page.getByRole('button', { name: 'Save' }).evaluate((b) => {
        const r = b.getBoundingClientRect()
        return r.top >= 0 && r.bottom <= window.innerHeight
      }),
    ).toBe(true)
    expect(errors).toEqual([])
    await context.close()
  })
})
