import { beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import type { TestApp } from '../utils.ts'
import { type BrowserHarness, hasText, openPage, useBrowserHarness } from './harness.ts'

// A real browser path takes a few seconds; each wait inside is bounded by `eventually`.
setDefaultTimeout(30_000)

let t: TestApp
let server: BrowserHarness['server']
let browser: Browser

useBrowserHarness((started) => {
  ;({ t, server, browser } = started)
})

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

beforeAll(async () => {
  await createOrResetAdmin(t.data, 'me@shop.example', 'correct horse battery', t.clock)
  const event = await t.request('/apiv1/collect', {
    method: 'POST',
    headers: { 'user-agent': DESKTOP },
    body: JSON.stringify({
      store: t.store.trackingId,
      visitor: 'visitor-0001',
      event: 'pageview',
      url: 'https://shop.example/',
    }),
  })
  expect(event.status).toBe(204)
})

describe("the tracking section's live counter across a Save", () => {
  test('a Save keeps the counter on the page (not counted again); a new time zone counts anew', async () => {
    const context = await browser.newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login`)
    await page.getByLabel('Email').fill('me@shop.example')
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/settings`)

    const counter = page.locator('#tracking-today')
    await hasText(counter, 'Today so far (UTC): 1 sessions, 0 orders.')
    // Marks on the counter and on its section tell a kept element from a swapped-in one.
    await page.evaluate(() => {
      for (const id of ['tracking-today', 'section-tracking']) {
        ;(document.getElementById(id) as HTMLElement).dataset.mark = 'before'
      }
    })
    const marks = () =>
      page.evaluate(() =>
        ['tracking-today', 'section-tracking'].map(
          (id) => document.getElementById(id)?.dataset.mark ?? 'new',
        ),
      )

    await page.getByLabel('Allowed origins').fill('https://shop.example')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(page.locator('#save-status'), /^Saved at \d\d:\d\d:\d\d$/)
    // The section was rendered again around the page's own counter, which kept its figures.
    expect(await marks()).toEqual(['before', 'new'])
    await hasText(counter, 'Today so far (UTC): 1 sessions, 0 orders.')
    expect(await counter.getAttribute('hx-trigger')).toBe('every 30s')

    await page.getByLabel('Time zone').fill('Europe/Paris')
    await page.getByRole('button', { name: 'Save' }).click()
    await hasText(counter, 'Today so far (Europe/Paris): 1 sessions, 0 orders.')
    expect(await marks()).toEqual(['new', 'new'])

    expect(errors).toEqual([])
    await context.close()
  })
})
