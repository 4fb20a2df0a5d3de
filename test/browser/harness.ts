import { afterAll, beforeAll } from 'bun:test'
import type { Browser } from 'playwright-core'
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
    t = createTestApp()
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
