import { afterAll, beforeAll, expect } from 'bun:test'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { launchBrowser } from '../browser.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

/** What a browser test drives: a test app served on a free port, and headless Chromium. */
export interface BrowserHarness {
  t: TestApp
  server: { url: string; stop: () => Promise<void> }
  browser: Browser
}

/**
 * Starts a test app on a free port and Chromium before the file's tests and closes both after
 * them (it registers `beforeAll` and `afterAll`); `started` receives them before the first test.
 */
export function useBrowserHarness(started: (harness: BrowserHarness) => void): void {
  let t: TestApp | undefined
  let server: BrowserHarness['server'] | undefined
  let browser: Browser | undefined
  beforeAll(async () => {
    t = await createTestApp()
    server = listen(t.app)
    browser = await launchBrowser()
    started({ t, server, browser })
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    t?.close()
  })
}

/** Retries an assertion until it holds or 5 s pass (the page updates asynchronously). */
export async function eventually(
  check: () => Promise<void> | void,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await check()
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await Bun.sleep(25)
    }
  }
}
export const hasText = (l: Locator, expected: string | RegExp) =>
  eventually(async () => {
    const text = ((await l.textContent()) ?? '').trim()
    if (typeof expected === 'string') expect(text).toBe(expected)
    else expect(text).toMatch(expected)
  })
export const hasValue = (l: Locator, expected: string) =>
  eventually(async () => expect(await l.inputValue()).toBe(expected))
export const isVisible = (l: Locator) =>
  eventually(async () => expect(await l.isVisible()).toBe(true))
export const isHidden = (l: Locator) =>
  eventually(async () => expect(await l.isHidden()).toBe(true))
export const isChecked = (l: Locator) =>
  eventually(async () => expect(await l.isChecked()).toBe(true))
export const hasCount = (l: Locator, n: number) =>
  eventually(async () => expect(await l.count()).toBe(n))

/** A page that records console errors and uncaught exceptions, and accepts confirm dialogs. */
export async function openPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`))
  page.on('dialog', (d) => void d.accept())
  return { page, errors }
}

/** What a page said in its console (errors and warnings), its uncaught errors, its dialogs. */
export interface Recorded {
  page: Page
  /** Console errors and warnings, uncaught exceptions and CSP violations. */
  problems: string[]
  /** Chromium's own line for each 4xx/5xx answer ("Failed to load resource: … status of 422"). */
  statuses: number[]
  /** Every dialog: its type and message (`beforeunload`, `confirm: …`). */
  dialogs: string[]
  /** What to do with the next dialogs: accept (leave, confirm) or dismiss (stay). */
  answer: 'accept' | 'dismiss'
}

/**
 * A page that records every console error and warning, uncaught exception and CSP violation
 * (`securitypolicyviolation`, counted inside the page), and every dialog it opens.
 */
export async function recordedPage(context: BrowserContext): Promise<Recorded> {
  const page = await context.newPage()
  const r: Recorded = { page, problems: [], statuses: [], dialogs: [], answer: 'accept' }
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return
    const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(
      m.text(),
    )
    if (status) r.statuses.push(Number(status[1]))
    else r.problems.push(`${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => r.problems.push(`pageerror: ${e.message}`))
  page.on('dialog', (d) => {
    r.dialogs.push(d.type() === 'beforeunload' ? 'beforeunload' : `${d.type()}: ${d.message()}`)
    void (r.answer === 'accept' ? d.accept() : d.dismiss())
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
    )
  })
  return r
}
