// The Destinations section in Chromium: add a webhook (its secret shown once, copied), Send test
// to a real receiver (the delivery verified with the README's check), a refused URL named under
// the inputs, remove after a confirm; no console error, no CSP violation.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { listDestinations } from '../../src/domain/destinations.ts'
import { launchBrowser } from '../browser.ts'
import { type Receiver, readmeVerifier, startReceiver } from '../receiver.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'
import { hasCount, hasText, isVisible, recordedPage } from './harness.ts'

setDefaultTimeout(30_000)

let t: TestApp
let server: { url: string; stop: () => Promise<void> }
let browser: Browser
let receiver: Receiver

beforeAll(async () => {
  t = await createTestApp({
    env: { MIDA_ALLOW_PRIVATE_DESTINATIONS: 'true' },
    settings: { store_name: 'Corner Shop' },
  })
  server = listen(t.app)
  browser = await launchBrowser()
  receiver = startReceiver()
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
  await receiver?.stop()
  t?.close()
})

describe('Destinations in Chromium', () => {
  test('add (secret shown once, copied), Send test, a refused URL, remove after a confirm', async () => {
    const { admin } = await createOrResetAdmin(
      t.data,
      'me@shop.example',
      'a good password',
      t.clock,
    )
    const session = await startSession(t.data, admin.id, t.clock)
    const context = await browser.newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    await context.addCookies([{ name: 'mida_session', value: session.token, url: server.url }])
    const r = await recordedPage(context)
    const { page } = r
    await page.goto(`${server.url}/stores/default/settings#section-destinations`)

    await page.getByLabel('Type').selectOption('webhook')
    await page.locator('#new-destination-url').fill(`${receiver.url}/hooks/erp-secret-path`)
    await page.locator('#new-destination-name').fill('ERP')
    await page.getByRole('button', { name: 'Add destination' }).click()
    const secretBox = page.locator('#new-destination-secret')
    await isVisible(secretBox)
    const secret = ((await secretBox.textContent()) ?? '').trim()
    expect(secret).toMatch(/^whsec_[0-9A-Za-z]{32}$/)
    await page.locator('[data-copy="new-destination-secret"]').click()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret)
    await hasCount(page.locator('article.destination'), 1)
    // The audit log followed.
    await hasText(page.locator('#audit-log tbody tr').first(), /Destination added/)

    await page.locator('article.destination').getByRole('button', { name: 'Send test' }).click()
    await hasText(page.locator('#destination-test-result'), 'Test delivered to "ERP": HTTP 200.')
    const got = receiver.received[0]!
    const verify = await readmeVerifier()
    expect(
      verify(
        secret,
        got.headers['x-mida-signature'] as string,
        got.body,
        t.clock.now().epochMilliseconds,
      ),
    ).toBe(true)
    await hasText(page.locator('[data-delivery-id] td[data-label="Status"]'), 'sent')

    // A refused URL: the error under the inputs, what was typed kept.
    await page.locator('#new-destination-url').fill('ftp://files.example/x')
    await page.getByRole('button', { name: 'Add destination' }).click()
    await hasText(page.locator('#new-destination-error'), 'url: must start with https://')
    expect(await page.locator('#new-destination-url').inputValue()).toBe('ftp://files.example/x')

    // After a reload the secret and the whole URL are nowhere on the page.
    await page.reload()
    const html = await page.content()
    expect(html).not.toContain(secret)
    expect(html).not.toContain('erp-secret-path')

    await page.locator('article.destination').getByRole('button', { name: 'Remove' }).click()
    await hasText(page.locator('#destinations p.empty'), /No destinations yet/)
    expect(r.dialogs).toEqual([
      'confirm: Remove the destination "ERP"? Its syncs are no longer posted there.',
    ])
    expect(await listDestinations(t.data, t.store)).toEqual([])
    expect(r.problems).toEqual([])
    expect(r.statuses).toEqual([400])
    await context.close()
  })
})
