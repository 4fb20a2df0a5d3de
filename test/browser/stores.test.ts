import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { storeSummary } from '../../src/domain/dashboard.ts'
import { generateDemo } from '../../src/domain/demo.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { createStore, listStores, type Store } from '../../src/domain/stores.ts'
import { formatCount, formatMoney, formatPercent } from '../../src/lib/format.ts'
import type { TestApp } from '../utils.ts'
import {
  type BrowserHarness,
  hasText,
  isHidden,
  isVisible,
  type Recorded,
  recordedPage,
  useBrowserHarness,
} from './harness.ts'

// Several stores in Chromium: the top bar's switcher and `/stores` (figures, totals, Add store),
// at a desktop and a phone size, under the strict CSP.
setDefaultTimeout(90_000)

let t: TestApp
let server: BrowserHarness['server']
let browser: Browser
let adminId = 0
let harbour: Store

const DESKTOP = { width: 1366, height: 900 }
const PHONE = { width: 390, height: 844 }
const MAIN_NAME = 'Main Street Outfitters'
/** Long enough to be cut short on a phone, with a character that needs escaping. */
const HARBOUR_NAME = 'Harbour Books & Stationery'

useBrowserHarness((started) => {
  ;({ t, server, browser } = started)
})

/** Two stores with demo data in different currencies and time zones, and an admin of both. */
async function twoStores(): Promise<void> {
  if (adminId) return
  await updateSettings(
    t.data,
    t.store,
    { store_name: MAIN_NAME, timezone: 'America/New_York', currency: 'USD' },
    t.clock,
  )
  await generateDemo(t.data, t.store, 'America/New_York', { days: 10, seed: 7 }, t.clock)
  harbour = await createStore(
    t.data,
    { slug: 'harbour', name: HARBOUR_NAME, timezone: 'Europe/Berlin', currency: 'EUR' },
    t.clock,
    { actor: 'cli', address: null },
  )
  await generateDemo(
    t.data,
    harbour,
    'Europe/Berlin',
    { days: 10, seed: 11, dailySessions: 180 },
    t.clock,
  )
  const { admin } = await createOrResetAdmin(
    t.data,
    'owner@shop.example',
    'a good password',
    t.clock,
  )
  adminId = admin.id
}

/** A logged-in page (recording console problems and CSP violations) at a viewport size. */
async function openAt(
  viewport: { width: number; height: number },
  path: string,
): Promise<{ context: BrowserContext; r: Recorded; page: Page }> {
  await twoStores()
  const context = await browser.newContext({ viewport })
  const session = await startSession(t.data, adminId, t.clock)
  await context.addCookies([{ name: 'mida_session', value: session.token, url: server.url }])
  const r = await recordedPage(context)
  await r.page.goto(`${server.url}${path}`)
  return { context, r, page: r.page }
}

const switcher = (page: Page) => page.locator('#store-switcher')
const menuLinks = (page: Page) => page.locator('#store-switcher ul a')
const texts = (l: Locator) => l.evaluateAll((all) => all.map((e) => e.textContent!.trim()))

/** The top bar's height in CSS pixels. */
const topBarHeight = (page: Page) =>
  page.locator('header.topbar').evaluate((e) => e.getBoundingClientRect().height)

/** What a figure's cell shows: the value, then ▲/▼ and the change, "=" or "new"; its class. */
function expectedFigure(text: string, current: number, previous: number) {
  if (current === previous) return { text: `${text} =`, trend: 'trend muted' }
  if (previous === 0) return { text: `${text} new`, trend: 'trend trend-up' }
  const change = (current - previous) / previous
  const arrow = change > 0 ? '▲' : '▼'
  return {
    text: `${text} ${arrow} ${formatPercent(Math.abs(change))}`,
    trend: `trend ${change > 0 ? 'trend-up' : 'trend-down'}`,
  }
}

describe('the store switcher', () => {
  test('opens over the page, lists both stores and All stores, and leads to a store', async () => {
    const { context, r, page } = await openAt(DESKTOP, '/settings')
    await hasText(page.locator('#store-switcher summary'), MAIN_NAME)
    await isHidden(menuLinks(page).first())
    // The keyboard reaches it first, outlined, and Enter opens and closes it.
    await page.keyboard.press('Tab')
    const summary = page.locator('#store-switcher summary')
    expect(await summary.evaluate((s) => s === document.activeElement)).toBe(true)
    expect(await summary.evaluate((s) => getComputedStyle(s).outlineStyle)).toBe('solid')
    await page.keyboard.press('Enter')
    await isVisible(menuLinks(page).first())
    await page.keyboard.press('Enter')
    await isHidden(menuLinks(page).first())
    // A click beside the open menu closes it, and reaches nothing underneath (a section link).
    await page.locator('#store-switcher summary').click()
    await isVisible(menuLinks(page).first())
    const link = (await page.locator('.section-nav a[href="#section-sync"]').boundingBox())!
    await page.mouse.click(link.x + link.width / 2, link.y + link.height / 2)
    await isHidden(menuLinks(page).first())
    expect(page.url()).toBe(`${server.url}/settings`)
    await page.locator('#store-switcher summary').click()
    await isVisible(menuLinks(page).first())
    expect(await texts(menuLinks(page))).toEqual([
      `${MAIN_NAME} default`,
      `${HARBOUR_NAME} harbour`,
      'All stores',
    ])
    expect(
      await menuLinks(page).evaluateAll((all) => all.map((a) => a.getAttribute('href'))),
    ).toEqual(['/stores/default/settings', '/stores/harbour/settings', '/stores'])
    expect(await page.locator('#store-switcher a[aria-current="page"]').textContent()).toContain(
      MAIN_NAME,
    )
    // The menu is above the page content: each entry is what a click at its middle meets.
    const covered = await menuLinks(page).evaluateAll((all) =>
      all
        .filter((a) => {
          const box = a.getBoundingClientRect()
          const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2)
          return !hit || !a.contains(hit)
        })
        .map((a) => a.textContent),
    )
    expect(covered).toEqual([])

    await page.getByRole('link', { name: /^Harbour Books/ }).click()
    await page.waitForURL(`${server.url}/stores/harbour/settings`)
    await hasText(page.locator('#topbar-store-name'), HARBOUR_NAME)
    expect(await page.title()).toBe(`${HARBOUR_NAME} · Analytics API Data Export`)
    expect(await switcher(page).getAttribute('open')).toBeNull()
    await page.locator('#store-switcher summary').click()
    expect(await page.locator('#store-switcher a[aria-current="page"]').textContent()).toContain(
      HARBOUR_NAME,
    )
    await page.getByRole('link', { name: 'All stores' }).click()
    await page.waitForURL(`${server.url}/stores`)
    await hasText(page.locator('h1'), 'Stores')
    // /stores has the switcher too, on "All stores".
    await hasText(page.locator('#store-switcher summary'), 'All stores')
    await page.locator('#store-switcher summary').click()
    await hasText(page.locator('#store-switcher a[aria-current="page"]'), 'All stores')
    expect(r.problems).toEqual([])
    await context.close()
  })

  test('is readable in light and dark mode: its text differs from the menu background', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      await twoStores()
      const context = await browser.newContext({ viewport: DESKTOP, colorScheme })
      const session = await startSession(t.data, adminId, t.clock)
      await context.addCookies([{ name: 'mida_session', value: session.token, url: server.url }])
      const r = await recordedPage(context)
      await r.page.goto(`${server.url}/settings`)
      await r.page.locator('#store-switcher summary').click()
      await isVisible(menuLinks(r.page).first())
      const colours = await r.page.locator('#store-switcher ul').evaluate(async (ul) => {
        await Promise.all(ul.getAnimations({ subtree: true }).map((a) => a.finished))
        const link = ul.querySelector('a:not([aria-current])')!
        return {
          text: getComputedStyle(link).color,
          menu: getComputedStyle(ul).backgroundColor,
          page: getComputedStyle(document.body).backgroundColor,
          opacity: getComputedStyle(ul).opacity,
        }
      })
      expect(colours.opacity).toBe('1')
      expect(colours.text).not.toBe(colours.menu)
      // Light text on the dark page in dark mode, dark text on the light one.
      const lightness = (rgb: string) =>
        rgb
          .match(/\d+/g)!
          .slice(0, 3)
          .reduce((sum, v) => sum + Number(v), 0)
      if (colorScheme === 'dark') {
        expect(lightness(colours.text)).toBeGreaterThan(lightness(colours.menu) + 300)
      } else expect(lightness(colours.text)).toBeLessThan(lightness(colours.menu) - 300)
      expect(r.problems).toEqual([])
      await context.close()
    }
  })
})

describe('/stores', () => {
  test('a row per store with its figures and trends, and the revenue totals per currency', async () => {
    const { context, r, page } = await openAt(DESKTOP, '/stores')
    const stores = await listStores(t.data)
    expect(stores.map((s) => s.slug)).toEqual(['default', 'harbour'])
    const summaries = await Promise.all(stores.map((s) => storeSummary(t.data, s, t.clock.now())))
    for (const [i, store] of stores.entries()) {
      const s = summaries[i]!
      const row = page.locator(`#store-${store.slug}`)
      const cells = await row.locator('td').evaluateAll((all) =>
        all.map((td) => ({
          label: td.dataset.label,
          text: td.textContent!.replace(/\s+/g, ' ').trim(),
          trend: td.querySelector('.trend')?.className,
        })),
      )
      const figure = (label: string, text: string, current: number, previous: number) => ({
        label,
        ...expectedFigure(text, current, previous),
      })
      expect(cells).toEqual([
        { label: 'Store', text: `${s.name} ${store.slug}`, trend: undefined },
        {
          label: 'Period',
          text: `${s.periodLabel} daily, ${s.timeZone}`,
          trend: undefined,
        },
        figure(
          'Sessions',
          formatCount(s.current.sessions),
          s.current.sessions,
          s.previous.sessions,
        ),
        figure('Orders', formatCount(s.current.orders), s.current.orders, s.previous.orders),
        figure(
          'Revenue',
          formatMoney(s.current.revenue, s.currency),
          s.current.revenue,
          s.previous.revenue,
        ),
        figure(
          'Conversion',
          formatPercent(s.current.conversion),
          s.current.conversion,
          s.previous.conversion,
        ),
      ])
      expect(await row.getByRole('link', { name: s.name }).getAttribute('href')).toBe(
        `/stores/${store.slug}/settings`,
      )
    }
    expect(summaries.map((s) => [s.name, s.currency, s.timeZone])).toEqual([
      [MAIN_NAME, 'USD', 'America/New_York'],
      [HARBOUR_NAME, 'EUR', 'Europe/Berlin'],
    ])
    const [usd, eur] = summaries as [(typeof summaries)[0], (typeof summaries)[0]]
    await hasText(
      page.locator('#store-totals'),
      `Totals: ${formatCount(usd.current.sessions + eur.current.sessions)} sessions, ${formatCount(
        usd.current.orders + eur.current.orders,
      )} orders; revenue ${formatMoney(eur.current.revenue, 'EUR')} + ${formatMoney(
        usd.current.revenue,
        'USD',
      )} (per currency, never converted)`,
    )
    expect(await page.locator('#store-totals').textContent()).toMatch(
      /revenue €[\d,.]+ \+ \$[\d,.]+/,
    )

    // Up in the theme's "inserted" green, down in its "deleted" red.
    const colours = await page.evaluate(() => {
      const probe = (value: string) => {
        const span = document.createElement('span')
        span.style.color = value
        document.body.append(span)
        const colour = getComputedStyle(span).color
        span.remove()
        return colour
      }
      const colourOf = (selector: string) =>
        [...document.querySelectorAll(selector)].map((e) => getComputedStyle(e).color)
      return {
        up: colourOf('.trend-up'),
        down: colourOf('.trend-down'),
        ins: probe('var(--pico-ins-color)'),
        del: probe('var(--pico-del-color)'),
      }
    })
    expect(colours.up.length).toBeGreaterThan(0)
    expect(colours.down.length).toBeGreaterThan(0)
    expect(new Set(colours.up)).toEqual(new Set([colours.ins]))
    expect(new Set(colours.down)).toEqual(new Set([colours.del]))
    expect(colours.ins).not.toBe(colours.del)
    expect(r.problems).toEqual([])
    await context.close()
  })

  test('Add store creates a store and lands on its settings page', async () => {
    const { context, r, page } = await openAt(DESKTOP, '/stores')
    await page.getByLabel('Slug').fill('outlet')
    await page.getByLabel('Name').fill('The Outlet')
    await page.getByLabel('Time zone').fill('Europe/London')
    await page.getByLabel('Currency').fill('gbp')
    await page.getByRole('button', { name: 'Add store' }).click()
    await page.waitForURL(`${server.url}/stores/outlet/settings`)
    await hasText(page.locator('#topbar-store-name'), 'The Outlet')
    expect(await page.getByLabel('Currency', { exact: true }).inputValue()).toBe('GBP')
    await page.locator('#store-switcher summary').click()
    expect(await texts(menuLinks(page))).toEqual([
      `${MAIN_NAME} default`,
      `${HARBOUR_NAME} harbour`,
      'The Outlet outlet',
      'All stores',
    ])
    await page.goto(`${server.url}/stores`)
    await hasText(page.locator('#store-outlet td.store-name'), 'The Outlet outlet')
    // Three currencies now, each summed on its own.
    await hasText(page.locator('#store-totals'), /revenue €[\d,.]+ \+ £0\.00 \+ \$[\d,.]+ /)
    expect(r.problems).toEqual([])
    expect(r.statuses).toEqual([])
    await context.close()
  })

  test('a taken or bad slug shows the error and keeps what was typed', async () => {
    const { context, r, page } = await openAt(DESKTOP, '/stores')
    const before = (await listStores(t.data)).length
    await page.getByLabel('Slug').fill('harbour')
    await page.getByLabel('Name').fill('Second harbour')
    await page.getByLabel('Currency').fill('EUR')
    await page.getByRole('button', { name: 'Add store' }).click()
    await hasText(
      page.locator('#add-store p.error[role="alert"]'),
      'A store with the slug "harbour" exists already',
    )
    expect(new URL(page.url()).pathname).toBe('/stores')
    expect(await page.getByLabel('Slug').inputValue()).toBe('harbour')
    expect(await page.getByLabel('Name').inputValue()).toBe('Second harbour')
    expect(await page.getByLabel('Currency').inputValue()).toBe('EUR')
    // The rest of the page is still there around the error.
    await isVisible(page.locator('#store-harbour'))

    // A slug the field's pattern refuses is stopped in the browser: nothing is sent.
    await page.getByLabel('Slug').fill('Big Sale!')
    await page.getByRole('button', { name: 'Add store' }).click()
    expect(
      await page
        .getByLabel('Slug')
        .evaluate((i) => (i as HTMLInputElement).validity.patternMismatch),
    ).toBe(true)
    // Past the browser's check (an old browser, a hand-made request), the server says why.
    await page.locator('#add-store form').evaluate((f) => {
      ;(f as HTMLFormElement).noValidate = true
    })
    await page.getByRole('button', { name: 'Add store' }).click()
    await hasText(page.locator('#add-store p.error'), /^Store slug "Big Sale!" is not valid: /)
    expect(await page.getByLabel('Slug').inputValue()).toBe('Big Sale!')
    expect(await page.getByLabel('Name').inputValue()).toBe('Second harbour')
    expect((await listStores(t.data)).length).toBe(before)
    expect(r.statuses).toEqual([409, 422])
    expect(r.problems).toEqual([])
    await context.close()
  })
})

describe('several stores on a phone', () => {
  test('/stores: cards, no horizontal scroll, the top bar within 64 px', async () => {
    const { context, r, page } = await openAt(PHONE, '/stores')
    expect(
      await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      ),
    ).toBe(0)
    expect(await topBarHeight(page)).toBeLessThanOrEqual(64)
    // Each row is a card: the store's name its title, then a line per figure with its label.
    const card = page.locator('#store-harbour')
    const lines = await card.locator('td').evaluateAll((all) =>
      all.map((td) => ({
        before: getComputedStyle(td, '::before').content,
        top: Math.round(td.getBoundingClientRect().top),
        height: td.getBoundingClientRect().height,
      })),
    )
    expect(lines.map((l) => l.before)).toEqual([
      'none',
      '"Period"',
      '"Sessions"',
      '"Orders"',
      '"Revenue"',
      '"Conversion"',
    ])
    // A figure and its trend share one line (the figure cells are single lines).
    const lineHeight = await card
      .locator('td[data-label="Sessions"]')
      .evaluate((td) => Number.parseFloat(getComputedStyle(td).lineHeight))
    for (const l of lines.slice(2)) expect(l.height).toBeLessThan(lineHeight * 1.5)
    expect(new Set(lines.map((l) => l.top)).size).toBe(lines.length)

    // The switcher opens on the phone with its menu on screen.
    await page.locator('#store-switcher summary').click()
    await isVisible(menuLinks(page).first())
    const menu = await page
      .locator('#store-switcher ul')
      .evaluate((ul) => ul.getBoundingClientRect().toJSON())
    expect(menu.left).toBeGreaterThanOrEqual(0)
    expect(menu.right).toBeLessThanOrEqual(PHONE.width)
    expect(await topBarHeight(page)).toBeLessThanOrEqual(64)
    expect(r.problems).toEqual([])
    await context.close()
  })

  test("a store's settings page: the switcher keeps the top bar within 64 px", async () => {
    const { context, r, page } = await openAt(PHONE, '/stores/harbour/settings')
    await hasText(page.locator('#topbar-store-name'), HARBOUR_NAME)
    expect(await topBarHeight(page)).toBeLessThanOrEqual(64)
    const heights = await Promise.all(
      ['Save', 'Log out'].map((name) =>
        page
          .getByRole('button', { name, exact: true })
          .evaluate((b) => b.getBoundingClientRect().height),
      ),
    )
    expect(heights[0]).toBe(heights[1]!)
    const right = await page
      .getByRole('button', { name: 'Log out' })
      .evaluate((b) => b.getBoundingClientRect().right)
    expect(right).toBeLessThanOrEqual(PHONE.width)
    await page.locator('#store-switcher summary').click()
    await isVisible(menuLinks(page).first())
    expect(await topBarHeight(page)).toBeLessThanOrEqual(64)
    expect(
      await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      ),
    ).toBe(0)
    expect(r.problems).toEqual([])
    await context.close()
  })
})

describe('renaming a store', () => {
  test('a Save renames the store in the switcher: its summary and its menu entry', async () => {
    await twoStores()
    await createStore(t.data, { slug: 'corner', name: 'Corner Shop', currency: 'USD' }, t.clock, {
      actor: 'cli',
      address: null,
    })
    const { context, r, page } = await openAt(DESKTOP, '/stores/corner/settings')
    await page.getByLabel('Store name').fill('Corner Deli')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await isVisible(page.locator('#save-status .save-ok'))
    await hasText(page.locator('#topbar-store-name'), 'Corner Deli')
    await page.locator('#store-switcher summary').click()
    await hasText(page.locator('#store-switcher a[aria-current="page"]'), 'Corner Deli corner')
    expect(await texts(menuLinks(page))).not.toContain('Corner Shop corner')
    // The switcher still works after its redraw: it leads to another store.
    await page.getByRole('link', { name: /^Harbour Books/ }).click()
    await page.waitForURL(`${server.url}/stores/harbour/settings`)
    expect(r.problems).toEqual([])
    await context.close()
  })
})
