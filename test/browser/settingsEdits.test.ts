import { beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser, Page, Route } from 'playwright-core'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import type { TestApp } from '../utils.ts'
import {
  type BrowserHarness,
  eventually,
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

useBrowserHarness((started) => {
  ;({ t, server, browser } = started)
})

const EMAIL = 'me@shop.example'
const PASSWORD = 'correct horse battery'

beforeAll(async () => {
  await createOrResetAdmin(t.data, EMAIL, PASSWORD, t.clock)
})

const SAVED = /^Saved at \d\d:\d\d:\d\d$/

async function logIn(page: Page): Promise<void> {
  await page.goto(`${server.url}/login`)
  await page.getByLabel('Email').fill(EMAIL)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${server.url}/settings`)
  await page.waitForFunction(() => 'htmx' in window)
}

/** Holds every POST /settings until `release()`; counts them. */
async function holdSaves(page: Page) {
  const held: Route[] = []
  let count = 0
  await page.route(`${server.url}/settings`, (route) => {
    if (route.request().method() !== 'POST') return route.continue()
    count++
    held.push(route)
  })
  return {
    count: () => count,
    waitHeld: () => eventually(() => expect(held.length).toBeGreaterThan(0)),
    release: async () => {
      for (const route of held.splice(0)) await route.continue()
    },
  }
}

const storeName = (page: Page) => page.getByLabel('Store name')

describe('unsaved edits in Chromium', () => {
  test('reload, leaving and closing warn only while the form has unsaved edits', async () => {
    await updateSettings(t.data, t.store, { store_name: 'Guard Shop' }, t.clock)
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page)

    // Clean: a reload goes through without a question.
    await page.reload()
    expect(r.dialogs).toEqual([])

    // An edit: the reload asks first; staying keeps the edit.
    await storeName(page).click()
    await storeName(page).fill('Guard Shop, edited')
    await isVisible(page.locator('#unsaved'))
    r.answer = 'dismiss'
    // (A reload the page refuses never finishes, so it is asked for from inside the page.)
    await page.evaluate(() => location.reload())
    expect(r.dialogs).toEqual(['beforeunload'])
    await hasValue(storeName(page), 'Guard Shop, edited')

    // Leaving for another page asks too; accepting leaves, and the edit is gone (not saved).
    r.answer = 'accept'
    await page.goto(`${server.url}/login`)
    expect(r.dialogs).toEqual(['beforeunload', 'beforeunload'])
    expect((await readSettings(t.data, t.store)).store_name).toBe('Guard Shop')

    // Back (still logged in), edit, then undo the edit by hand: clean again, no question.
    await page.goto(`${server.url}/settings`)
    await storeName(page).click()
    await storeName(page).fill('Something else')
    await storeName(page).fill('Guard Shop')
    await isHidden(page.locator('#unsaved'))
    await page.reload()
    expect(r.dialogs).toEqual(['beforeunload', 'beforeunload'])

    // After a Save the page is clean: reload and close go without a question.
    await storeName(page).click()
    await storeName(page).fill('Guard Shop 2')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), SAVED)
    await isHidden(page.locator('#unsaved'))
    await page.reload()
    await hasValue(storeName(page), 'Guard Shop 2')
    expect(r.dialogs).toEqual(['beforeunload', 'beforeunload'])

    // Closing the tab with an edit asks as well.
    await storeName(page).click()
    await storeName(page).fill('Guard Shop 3')
    await page.close({ runBeforeUnload: true })
    await eventually(() =>
      expect(r.dialogs).toEqual(['beforeunload', 'beforeunload', 'beforeunload']),
    )
    expect(r.problems).toEqual([])
    await context.close()
  })

  test('Log out with unsaved edits asks first; without edits it just logs out', async () => {
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page)
    await storeName(page).click()
    await storeName(page).fill('Not kept')

    r.answer = 'dismiss'
    await page.getByRole('button', { name: 'Log out' }).click()
    await eventually(() =>
      expect(r.dialogs).toEqual(['confirm: You have unsaved changes. Log out and lose them?']),
    )
    expect(new URL(page.url()).pathname).toBe('/settings')
    await hasValue(storeName(page), 'Not kept')

    // Confirmed: out, with no second question from the unload guard.
    r.answer = 'accept'
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL(`${server.url}/login?logged_out=1`)
    expect(r.dialogs).toEqual([
      'confirm: You have unsaved changes. Log out and lose them?',
      'confirm: You have unsaved changes. Log out and lose them?',
    ])

    // Clean: no question at all.
    await logIn(page)
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL(`${server.url}/login?logged_out=1`)
    expect(r.dialogs.length).toBe(2)
    expect(r.problems).toEqual([])
    await context.close()
  })

  test('a Save after the session ended keeps the edits: log in again in place, then it is saved', async () => {
    await updateSettings(t.data, t.store, { store_name: 'Before', api_enabled: 'false' }, t.clock)
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page)
    const oldToken = await page.locator('#settings-form input[name="_csrf"]').inputValue()

    await storeName(page).fill('After the timeout')
    await page.getByRole('switch', { name: /API Status/ }).check()
    // The session ends on the server (expired, or ended elsewhere).
    await t.data.run('DELETE FROM admin_sessions')
    await page.getByRole('button', { name: 'Save' }).click()

    const dialog = page.getByRole('dialog', { name: 'Your session has ended' })
    await isVisible(dialog)
    await hasText(page.locator('#save-status'), 'Not saved yet: your session has ended.')
    expect(new URL(page.url()).pathname).toBe('/settings')
    await hasValue(storeName(page), 'After the timeout')
    await isChecked(page.getByRole('switch', { name: /API Status/ }))

    // A background request meanwhile (a refresh, the tracking poll) is held back: it would be
    // refused too and replace the dialog under the typing.
    await dialog.getByLabel('Email').fill(EMAIL)
    let refreshes = 0
    page.on('request', (req) => {
      if (req.url().endsWith('/settings/sync-log')) refreshes++
    })
    // (Clicked from inside the page: the modal dialog makes the page behind it inert.)
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const refresh = document.querySelector('#sync-log button') as HTMLButtonElement
          refresh.addEventListener('htmx:finally:request', () => resolve(), { once: true })
          refresh.click()
        }),
    )
    expect(refreshes).toBe(0)
    await hasValue(dialog.getByLabel('Email'), EMAIL)

    // A wrong password: said in the dialog, which stays.
    await dialog.getByLabel('Password').fill('wrong password')
    await dialog.getByRole('button', { name: 'Log in' }).click()
    await hasText(page.locator('#relogin-error'), 'Wrong email or password.')
    await isVisible(page.getByRole('dialog', { name: 'Your session has ended' }))

    await dialog.getByLabel('Password').fill(PASSWORD)
    await dialog.getByRole('button', { name: 'Log in' }).click()
    // Logged in again: the dialog goes, the Save is sent again with the new CSRF token.
    await hasText(page.locator('#save-status'), SAVED)
    expect(await dialog.count()).toBe(0)
    const saved = await readSettings(t.data, t.store)
    expect([saved.store_name, saved.api_enabled]).toEqual(['After the timeout', true])
    const newToken = await page.locator('#settings-form input[name="_csrf"]').inputValue()
    expect(newToken).not.toBe(oldToken)
    expect(
      JSON.parse((await page.locator('body').getAttribute('hx-headers:inherited')) ?? '{}'),
    ).toEqual({ 'X-CSRF-Token': newToken })

    // Nothing unsaved, and the values are there after a reload.
    await isHidden(page.locator('#unsaved'))
    await page.reload()
    await hasValue(storeName(page), 'After the timeout')
    await isChecked(page.getByRole('switch', { name: /API Status/ }))
    await hasText(page.locator('.switch-state'), 'Activated')
    expect(r.dialogs).toEqual([])
    // Chromium's own lines for the refused Save and the wrong password, nothing else.
    expect({ problems: r.problems, statuses: r.statuses }).toEqual({
      problems: [],
      statuses: [401, 401],
    })
    await context.close()
  })

  test('a session past its idle limit: the refused key action asks to log in, and works after', async () => {
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page)
    await storeName(page).fill('Typed, not saved')
    t.clock.advance({ hours: 24 * 7 + 1 })
    try {
      await page.getByLabel('Key name').fill('After idle')
      await page.getByRole('button', { name: 'Generate API Key' }).click()
      const dialog = page.getByRole('dialog', { name: 'Your session has ended' })
      await isVisible(dialog)
      await dialog.getByLabel('Email').fill(EMAIL)
      await dialog.getByLabel('Password').fill(PASSWORD)
      await dialog.getByRole('button', { name: 'Log in' }).click()
      await eventually(async () => expect(await dialog.count()).toBe(0))
      // Only a refused Save is sent again; the key is generated when asked again.
      await page.getByRole('button', { name: 'Generate API Key' }).click()
      await hasText(page.locator('#new-key-value'), /^mida_sk_/)
      await hasValue(storeName(page), 'Typed, not saved')
      await isVisible(page.locator('#unsaved'))
      expect({ problems: r.problems, statuses: r.statuses }).toEqual({
        problems: [],
        statuses: [401],
      })
    } finally {
      t.clock.set('2026-11-26T06:00:00Z')
    }
    await context.close()
  })
})

describe('Save in Chromium', () => {
  test('the button is disabled and busy while its request runs, then says when it saved', async () => {
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page)
    const saves = await holdSaves(page)
    const save = page.getByRole('button', { name: 'Save' })

    await storeName(page).fill('Slow Shop')
    await save.dblclick()
    await saves.waitHeld()
    expect(await save.isDisabled()).toBe(true)
    expect(await save.getAttribute('aria-busy')).toBe('true')
    await hasText(page.locator('#save-status'), 'Saving…')
    // Enter in a field cannot send a second one either.
    await storeName(page).press('Enter')

    await saves.release()
    await hasText(page.locator('#save-status'), SAVED)
    await eventually(async () => expect(await save.isEnabled()).toBe(true))
    expect(await save.getAttribute('aria-busy')).toBe(null)
    expect(saves.count()).toBe(1)
    expect((await readSettings(t.data, t.store)).store_name).toBe('Slow Shop')
    expect(r.problems).toEqual([])
    await context.close()
  })

  test('the top bar and the tab title show the saved store name at once', async () => {
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page)
    await storeName(page).fill('Renamed <b>Shop</b>')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), SAVED)
    await hasText(page.locator('.brand small'), 'Renamed <b>Shop</b>')
    expect(await page.title()).toBe('Renamed <b>Shop</b> · Analytics API Data Export')
    expect(r.problems).toEqual([])
    await context.close()
  })

  test('a change made elsewhere survives a Save of another field; the same field is a conflict', async () => {
    await updateSettings(
      t.data,
      t.store,
      { store_name: 'Loaded', api_enabled: 'false', sync_frequency: 'daily' },
      t.clock,
    )
    const context = await browser.newContext()
    const r = await recordedPage(context)
    const { page } = r
    await logIn(page)

    // The CLI switches the API on while the page is open; the page saves the store name.
    await updateSettings(t.data, t.store, { api_enabled: 'true' }, t.clock)
    await storeName(page).fill('Renamed on the page')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), SAVED)
    let s = await readSettings(t.data, t.store)
    expect([s.store_name, s.api_enabled]).toEqual(['Renamed on the page', true])
    // The page now shows the saved state, the CLI's change included.
    await isChecked(page.getByRole('switch', { name: /API Status/ }))
    await hasText(page.locator('.switch-state'), 'Activated')
    await isHidden(page.locator('#unsaved'))

    // Both change the frequency: the page's Save does not overwrite the CLI's value.
    await updateSettings(
      t.data,
      t.store,
      { sync_frequency: 'weekly', store_name: 'CLI name' },
      t.clock,
    )
    const frequency = page.getByRole('combobox', { name: 'Data Sync Frequency' })
    await storeName(page).fill('Page name')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), '1 field needs attention: nothing was saved.')
    await hasText(
      page.locator('#field-store_name-msg'),
      'was changed elsewhere to "CLI name" while you edited it; Save again to replace it with yours',
    )
    await hasValue(storeName(page), 'Page name')
    // A field the page did not touch shows the value saved elsewhere.
    await hasValue(frequency, 'weekly')
    s = await readSettings(t.data, t.store)
    expect([s.store_name, s.sync_frequency]).toEqual(['CLI name', 'weekly'])
    await isVisible(page.locator('#unsaved'))

    // Saving again, knowing, replaces it; the frequency set elsewhere stays.
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), SAVED)
    s = await readSettings(t.data, t.store)
    expect([s.store_name, s.sync_frequency]).toEqual(['Page name', 'weekly'])
    expect({ problems: r.problems, statuses: r.statuses }).toEqual({
      problems: [],
      statuses: [409],
    })
    await context.close()
  })
})

describe('the console in Chromium', () => {
  test('the recorder sees an inline style the CSP blocks (so its silence below means something)', async () => {
    const context = await browser.newContext()
    const r = await recordedPage(context)
    await logIn(r.page)
    await r.page.evaluate(() => {
      const p = document.createElement('p')
      p.innerHTML = '<span style="color: red">x</span>'
      document.body.append(p)
    })
    await eventually(() => expect(r.problems.some((p) => p.includes('style-src-attr'))).toBe(true))
    await context.close()
  })

  for (const colorScheme of ['light', 'dark'] as const) {
    test(`every action on the page logs no error, warning or CSP violation (${colorScheme})`, async () => {
      await updateSettings(
        t.data,
        t.store,
        { api_enabled: 'false', store_name: 'Console' },
        t.clock,
      )
      const context = await browser.newContext({ colorScheme })
      const r = await recordedPage(context)
      const { page } = r
      await logIn(page)

      // Toggle, Save ok.
      await page.getByRole('switch', { name: /API Status/ }).check()
      await hasText(page.locator('.switch-state'), 'Activated')
      await page.getByRole('button', { name: 'Save' }).click()
      await hasText(page.locator('#save-status'), SAVED)
      // Save with an error.
      await page.getByLabel('Recipient').fill('not an email')
      await page.getByRole('button', { name: 'Save' }).click()
      await hasText(page.locator('#field-notify_recipient-msg'), 'must be an email address')
      await page.getByLabel('Recipient').fill('')
      // Generate, regenerate, revoke.
      await page.getByLabel('Key name').fill(`Console ${colorScheme}`)
      await page.getByRole('button', { name: 'Generate API Key' }).click()
      await hasText(page.locator('#new-key-value'), /^mida_sk_/)
      const row = page.locator('#api-keys tr', { hasText: `Console ${colorScheme}` })
      await row.getByRole('button', { name: 'Regenerate secret key' }).click()
      await hasText(page.locator('#new-key-value'), /^mida_sk_/)
      await row.getByRole('button', { name: 'Revoke' }).click()
      await hasText(row.locator('.revoked-note'), 'Revoked')
      // Send test email without SMTP: refused with its reason.
      await page.getByRole('button', { name: 'Send test email' }).click()
      await hasText(page.locator('#smtp-test-result'), /^Not sent: /)
      // The refreshable lists.
      await page.locator('#sync-log').getByRole('button', { name: 'Refresh' }).click()
      await page.locator('#audit-log').getByRole('button', { name: 'Refresh' }).click()
      await hasText(page.locator('#audit-log tbody tr').first().locator('td').nth(3), /\S/)
      // Switch back and Save.
      await page.getByRole('switch', { name: /API Status/ }).uncheck()
      await hasText(page.locator('.switch-state'), 'Deactivated')
      await page.getByRole('button', { name: 'Save' }).click()
      await hasText(page.locator('#save-status'), SAVED)
      expect((await readSettings(t.data, t.store)).api_enabled).toBe(false)

      // Chromium's own network lines for the two refusals the walk asks for (the bad Recipient,
      // the test email without SMTP), and nothing else: no error, warning or CSP violation.
      expect({ problems: r.problems, statuses: r.statuses }).toEqual({
        problems: [],
        statuses: [422, 422],
      })
      expect(r.dialogs.map((d) => d.split(' ')[1])).toEqual(['Regenerate', 'Revoke'])
      await context.close()
    })
  }
})
