import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { CONTENT_SECURITY_POLICY } from '../../src/http/security.ts'
import type { TestApp } from '../utils.ts'
import { type BrowserHarness, useBrowserHarness } from './harness.ts'

setDefaultTimeout(30_000)

let t: TestApp
let server: BrowserHarness['server']
let browser: Browser

useBrowserHarness((started) => {
  ;({ t, server, browser } = started)
})

describe('the strict Content-Security-Policy in Chromium', () => {
  test('the settings page and its htmx actions run with no CSP violation', async () => {
    const { admin } = await createOrResetAdmin(
      t.data,
      'me@shop.example',
      'a good password',
      t.clock,
    )
    const session = await startSession(t.data, admin.id, t.clock)
    const context = await browser.newContext()
    await context.addCookies([
      { name: 'mida_session', value: session.token, url: server.url, httpOnly: true },
    ])
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) problems.push(m.text())
    })
    page.on('pageerror', (e) => problems.push(e.message))
    // Counted inside the page: every blocked script, style, image or connection fires this.
    await page.addInitScript(() => {
      ;(window as unknown as { cspViolations: string[] }).cspViolations = []
      document.addEventListener('securitypolicyviolation', (e) => {
        ;(window as unknown as { cspViolations: string[] }).cspViolations.push(
          `${e.violatedDirective} ${e.blockedURI}`,
        )
      })
    })
    const res = await page.goto(`${server.url}/settings`)
    expect(res?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
    // htmx loaded and is processing the page (it is what makes Save an htmx request).
    await page.waitForFunction(() => 'htmx' in window)
    await page.fill('#field-store_name', 'CSP Shop')
    await page.click('#save-button')
    await page.waitForSelector('#save-status .save-ok')
    await page.fill('#new-key-name', 'csp key')
    await page.click('button[form="new-key-form"]')
    await page.waitForFunction(() =>
      document.querySelector('#api-keys')?.textContent?.includes('csp key'),
    )
    await page.click('#audit-log button')
    await page.waitForSelector('#audit-log td')
    const violations = await page.evaluate(
      () => (window as unknown as { cspViolations: string[] }).cspViolations,
    )
    expect({ violations, problems }).toEqual({ violations: [], problems: [] })
    expect(await page.textContent('#audit-log')).toContain('API key created')
    await context.close()
  })
})
