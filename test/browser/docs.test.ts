import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { CONTENT_SECURITY_POLICY } from '../../src/http/security.ts'
import { type BrowserHarness, useBrowserHarness } from './harness.ts'

setDefaultTimeout(30_000)

let server: BrowserHarness['server']
let browser: Browser

useBrowserHarness((started) => {
  ;({ server, browser } = started)
})

describe('/docs in Chromium', () => {
  test('renders every endpoint with no CSP violation and no request to another origin', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const problems: string[] = []
    const elsewhere: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) problems.push(m.text())
    })
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url)) elsewhere.push(r.url())
    })
    await page.addInitScript(() => {
      ;(window as unknown as { cspViolations: string[] }).cspViolations = []
      document.addEventListener('securitypolicyviolation', (e) => {
        ;(window as unknown as { cspViolations: string[] }).cspViolations.push(
          `${e.violatedDirective} ${e.blockedURI}`,
        )
      })
    })
    const res = await page.goto(`${server.url}/docs`)
    expect(res?.status()).toBe(200)
    expect(res?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>
    }
    for (const item of Object.values(doc.paths)) {
      for (const operation of Object.values(item)) {
        expect(await page.locator(`#op-${operation.operationId}`).isVisible()).toBe(true)
      }
    }
    // The app's stylesheet applies (a method badge is styled, not plain text).
    const badge = page.locator('#op-sync .method').first()
    expect(await badge.evaluate((e) => getComputedStyle(e).display)).toBe('inline-block')
    // Each status shows an example body (the last, 503's, is the error shape).
    const example = await page.locator('#op-sync .docs-response pre').last().textContent()
    expect(JSON.parse(example ?? '')).toMatchObject({ success: false })
    // A schema opens into its field table.
    await page.locator('#op-sync .docs-response details summary').first().click()
    expect(
      await page
        .locator('#op-sync .docs-response details')
        .first()
        .locator('td code')
        .first()
        .textContent(),
    ).toBe('success')
    const violations = await page.evaluate(
      () => (window as unknown as { cspViolations: string[] }).cspViolations,
    )
    expect({ violations, problems, elsewhere }).toEqual({
      violations: [],
      problems: [],
      elsewhere: [],
    })
    if (process.env.DOCS_SCREENSHOT) {
      await page.screenshot({ path: process.env.DOCS_SCREENSHOT, fullPage: true })
    }
    await context.close()
  })
})
