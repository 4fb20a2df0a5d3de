import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createOrResetAdmin, issueSetupToken, startSession } from '../../src/domain/admins.ts'
import { recordAudit } from '../../src/domain/audit.ts'
import { dashboardData } from '../../src/domain/dashboard.ts'
import { generateDemo } from '../../src/domain/demo.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { syncPeriod } from '../../src/domain/sync.ts'
import { formatMoney } from '../../src/lib/format.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'
import {
  type BrowserHarness,
  eventually,
  hasCount,
  hasText,
  isVisible,
  openPage,
  useBrowserHarness,
} from './harness.ts'

// The layout of the settings page, measured in Chromium on a demo store, at a desktop and a phone size.
setDefaultTimeout(90_000)

let t: TestApp
let server: BrowserHarness['server']
let browser: Browser
let adminId = 0

const DESKTOP = { width: 1366, height: 900 }
const PHONE = { width: 390, height: 844 }

useBrowserHarness((started) => {
  ;({ t, server, browser } = started)
})

/** A demo store worth thousands a day, keys with long names, a sync, API calls and an audit line. */
async function demoStore(): Promise<void> {
  if (adminId) return
  await updateSettings(
    t.data,
    t.store,
    { api_enabled: 'true', timezone: 'America/New_York' },
    t.clock,
  )
  await generateDemo(
    t.data,
    t.store,
    'America/New_York',
    { days: 20, seed: 7, dailySessions: 3000 },
    t.clock,
  )
  for (const name of ['Looker Studio', 'Google Sheets import', 'Data warehouse nightly']) {
    await createApiKey(t.data, t.store, name, 'export', t.clock)
  }
  const { secret } = await createApiKey(t.data, t.store, 'Reporting', 'export', t.clock)
  await syncPeriod(t.data, t.store, { trigger: 'scheduler', strictFrequency: false }, t.clock)
  await fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mida-secret-key': secret },
  })
  await fetch(`${server.url}/apiv1/analytics/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mida-secret-key': 'mida_sk_wrong' },
  })
  const { admin } = await createOrResetAdmin(
    t.data,
    'owner@shop.example',
    'a good password',
    t.clock,
  )
  await recordAudit(
    t.data,
    { storeId: t.storeId, actor: admin.email, address: '203.0.113.7', action: 'login' },
    t.clock,
  )
  adminId = admin.id
}

/** A logged-in settings page at a viewport size. */
async function settingsAt(viewport: {
  width: number
  height: number
}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  await demoStore()
  const context = await browser.newContext({ viewport })
  const session = await startSession(t.data, adminId, t.clock)
  await context.addCookies([{ name: 'mida_session', value: session.token, url: server.url }])
  const { page, errors } = await openPage(context)
  await page.goto(`${server.url}/settings`)
  return { context, page, errors }
}

/** The top and bottom of the sticky top bar, in viewport pixels. */
const topBar = (page: Page) =>
  page.locator('header.topbar').evaluate((e) => {
    const r = e.getBoundingClientRect()
    return { top: r.top, bottom: r.bottom, height: r.height }
  })

describe('the settings page layout', () => {
  test('on a phone every button and table cell is on screen, with no horizontal scroll', async () => {
    const { context, page, errors } = await settingsAt(PHONE)
    // A new key's panel (long cURL command) and the day table in the open details count too.
    await page.getByLabel('Key name').fill('Phone key')
    await page.getByRole('button', { name: 'Generate API Key' }).click()
    await isVisible(page.locator('#new-key-value'))
    await page.locator('details').evaluateAll((all) => {
      for (const d of all) (d as HTMLDetailsElement).open = true
    })
    const outside = await page.evaluate(() => {
      const width = document.documentElement.clientWidth
      const bad: string[] = []
      let checked = 0
      for (const el of document.querySelectorAll('button, td, th')) {
        if (!el.checkVisibility()) continue
        // The header row of a table laid out as cards is there for screen readers only.
        if (el.closest('thead') && el.closest('.table-cards')) {
          const clip = el.closest('thead')!.getBoundingClientRect()
          if (clip.width <= 1) continue
        }
        const r = el.getBoundingClientRect()
        if (r.width === 0 && r.height === 0) continue
        checked += 1
        if (r.left < -0.5 || r.right > width + 0.5) {
          bad.push(`${el.tagName} "${el.textContent?.trim().slice(0, 30)}" ${r.left}–${r.right}`)
        }
      }
      return { bad, checked }
    })
    expect(outside.bad).toEqual([])
    expect(outside.checked).toBeGreaterThan(60)
    expect(
      await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      ),
    ).toBe(0)

    // Table rows are cards: each cell says which column it is.
    const keyRow = page.locator('#api-keys tbody tr', { hasText: 'Looker Studio' })
    expect(
      await keyRow.locator('td').evaluateAll((cells) => cells.map((c) => c.dataset.label)),
    ).toEqual(['Name', 'Key', 'Scope', 'Created', 'Last used', 'Actions'])
    const statusCell = page.locator('#sync-log td[data-label="Status"]').first()
    expect(await statusCell.evaluate((c) => getComputedStyle(c, '::before').content)).toBe(
      '"Status"',
    )
    expect(errors).toEqual([])
    await context.close()
  })

  test('names break between words and dates stay on one line, at both sizes', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page } = await settingsAt(viewport)
      const broken = await page.evaluate(() => {
        /** How many line boxes a piece of text takes. */
        const lines = (node: Node, from: number, to: number) => {
          const range = document.createRange()
          range.setStart(node, from)
          range.setEnd(node, to)
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size
        }
        const bad: string[] = []
        for (const cell of document.querySelectorAll('td.key-name')) {
          const text = cell.firstChild!
          for (const m of (text.textContent ?? '').matchAll(/\S+/g)) {
            if (lines(text, m.index, m.index + m[0].length) !== 1) bad.push(m[0])
          }
        }
        for (const time of document.querySelectorAll('td time')) {
          const text = time.firstChild!
          if (lines(text, 0, text.textContent!.length) !== 1) bad.push(text.textContent!)
        }
        return bad
      })
      expect(broken).toEqual([])
      await context.close()
    }
  })

  test('at tablet and desktop widths every table fits its card: no sideways scroll inside', async () => {
    for (const width of [768, 1024, 1280, 1366, 1920]) {
      const { context, page } = await settingsAt({ width, height: 900 })
      const wide = await page.locator('.table-cards').evaluateAll((boxes) =>
        boxes
          .filter((b) => b.checkVisibility())
          .map((b) => ({ scroll: b.scrollWidth, client: b.clientWidth }))
          .filter((b) => b.scroll > b.client),
      )
      expect({ width, wide }).toEqual({ width, wide: [] })
      await context.close()
    }
  })

  test('the top bar: at most 64 px on a phone, Save and Log out of the same height', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page } = await settingsAt(viewport)
      const bar = await topBar(page)
      if (viewport === PHONE) expect(bar.height).toBeLessThanOrEqual(64)
      const heights = await Promise.all(
        ['Save', 'Log out'].map((name) =>
          page
            .getByRole('button', { name, exact: true })
            .evaluate((b) => b.getBoundingClientRect().height),
        ),
      )
      expect(heights[0]).toBe(heights[1]!)
      if (viewport === PHONE) {
        // Still one slim row with "Unsaved changes" showing, and nothing pushed off screen.
        await page.getByLabel('Store name').fill('Renamed')
        await isVisible(page.locator('#unsaved'))
        expect((await topBar(page)).height).toBeLessThanOrEqual(64)
        const right = await page
          .getByRole('button', { name: 'Log out' })
          .evaluate((b) => b.getBoundingClientRect().right)
        expect(right).toBeLessThanOrEqual(PHONE.width)
      }
      await context.close()
    }
  })

  test('a section chosen in the nav lands fully below the top bar, at both sizes', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page } = await settingsAt(viewport)
      for (const id of ['api-keys', 'notifications', 'store', 'sync-log']) {
        await page.locator(`.section-nav a[href="#section-${id}"]`).click()
        await eventually(async () => {
          const bar = await topBar(page)
          const heading = await page
            .locator(`#title-${id}`)
            .evaluate((h) => h.getBoundingClientRect().top)
          expect(heading).toBeGreaterThanOrEqual(bar.bottom)
          expect(heading).toBeLessThan(viewport.height)
        })
      }
      await context.close()
    }
  })

  test('the nav lines up with the cards', async () => {
    const { context, page } = await settingsAt(DESKTOP)
    const [nav, card] = await Promise.all([
      page
        .locator('.section-nav li')
        .first()
        .evaluate((e) => e.getBoundingClientRect().left),
      page
        .locator('section.card')
        .first()
        .evaluate((e) => e.getBoundingClientRect().left),
    ])
    expect(nav).toBe(card)
    await context.close()
  })

  test('stat values stay on one line; money is compact with the exact amount as its title', async () => {
    const data = await dashboardData(t.data, t.store, t.clock.now())
    expect(data.metrics.total_revenue).toBeGreaterThan(1000)
    for (const width of [390, 700, 1024, 1366]) {
      const { context, page } = await settingsAt({ width, height: 900 })
      const values = await page.locator('.figure-value').evaluateAll((all) =>
        all.map((v) => ({
          height: v.getBoundingClientRect().height,
          lineHeight: Number.parseFloat(getComputedStyle(v).lineHeight),
        })),
      )
      expect(values.length).toBe(6)
      for (const v of values) expect(v.height).toBeLessThan(v.lineHeight * 1.5)
      if (width === 1366) {
        const revenue = page.locator('.figure', { hasText: 'Revenue' }).locator('.figure-value')
        const exact = formatMoney(data.metrics.total_revenue, data.currency)
        expect(await revenue.getAttribute('title')).toBe(exact)
        await hasText(revenue.locator('[aria-hidden="true"]'), /^\$\d+(\.\d)?K$/)
        await hasText(revenue.locator('.visually-hidden'), exact)
      }
      await context.close()
    }
  })

  test('Generate API Key lines up with its inputs; code in text keeps its punctuation', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page } = await settingsAt(viewport)
      const box = (selector: string) =>
        page.locator(selector).evaluate((e) => {
          const r = e.getBoundingClientRect()
          return { top: r.top, bottom: r.bottom }
        })
      const input = await box('#new-key-name')
      const button = await box('#api-keys .key-create button')
      if (viewport === DESKTOP) {
        expect(button.bottom).toBe(input.bottom)
        expect(Math.abs(button.top - input.top)).toBeLessThanOrEqual(1)
      } else expect(button.top).toBeGreaterThan(input.bottom) // stacked below on a phone

      // A "." or ")" right after inline code stays on the code's last line.
      const stray = await page.evaluate(() => {
        const bad: string[] = []
        for (const code of document.querySelectorAll('main p code, main small code')) {
          const next = code.nextSibling
          if (!next || next.nodeType !== Node.TEXT_NODE || !/^[.,):]/.test(next.textContent!))
            continue
          const range = document.createRange()
          range.setStart(next, 0)
          range.setEnd(next, 1)
          const mark = range.getBoundingClientRect()
          const rects = code.getClientRects()
          const last = rects[rects.length - 1]!
          if (Math.abs(mark.bottom - last.bottom) > 4) bad.push(code.textContent!)
        }
        return bad
      })
      expect(stray).toEqual([])
      await context.close()
    }
  })

  test('Revoke is red, and revoking a key moves nothing on the page', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page, errors } = await settingsAt(viewport)
      const revoke = page.getByRole('button', { name: 'Revoke' }).first()
      const [revokeColor, red] = await revoke.evaluate(async (b) => {
        // Pico eases a button's colours in (0.2 s): read them once its transitions have ended.
        await Promise.all(b.getAnimations().map((a) => a.finished))
        const probe = document.createElement('span')
        probe.style.color = 'var(--pico-del-color)'
        document.body.append(probe)
        const colors = [getComputedStyle(b).color, getComputedStyle(probe).color]
        probe.remove()
        return colors
      })
      expect(revokeColor).toBe(red!)

      const row = page.locator('#api-keys tbody tr').first()
      const name = (await row.locator('td.key-name').textContent())!.trim()
      await row.evaluate((r) => r.scrollIntoView({ block: 'center' }))
      const where = () =>
        page.evaluate(() => ({
          scrollY: window.scrollY,
          next: document.querySelector('#section-sync')!.getBoundingClientRect().top,
        }))
      const before = await where()
      const id = (await row.getAttribute('id'))!
      await row.getByRole('button', { name: 'Revoke' }).click()
      await hasCount(page.locator(`#${id} button`), 0)
      expect(await where()).toEqual(before)
      const revoked = page.locator(`#${id}.revoked`)
      await hasText(revoked.locator('td.key-name'), name)
      await hasText(revoked.locator('.revoked-note'), 'Revoked')
      expect(errors).toEqual([])
      await context.close()
    }
  })

  test('logging out says so on the login page', async () => {
    const { context, page, errors } = await settingsAt(DESKTOP)
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL(`${server.url}/login?logged_out=1`)
    await hasText(page.locator('p.notice[role="status"]'), 'You have been logged out.')
    // A plain visit to the login page says nothing of the kind.
    await page.goto(`${server.url}/login`)
    expect(await page.getByText('You have been logged out.').count()).toBe(0)
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('the setup page', () => {
  test('a short password that does not match gets both errors; the name never breaks', async () => {
    const fresh = await createTestApp()
    const freshServer = listen(fresh.app)
    const context = await browser.newContext({ viewport: PHONE })
    try {
      const { page, errors } = await openPage(context)
      const { token } = await issueSetupToken(fresh.data, fresh.clock)
      await page.goto(`${freshServer.url}/setup?token=${token}`)
      const nameLines = await page.locator('h1 .nowrap').evaluate((e) => {
        const range = document.createRange()
        range.selectNodeContents(e)
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size
      })
      expect(nameLines).toBe(1)
      await hasText(page.locator('h1'), /^Welcome to mida-export$/)

      await page.getByLabel('Email').fill('me@shop.example')
      await page.getByLabel('Password', { exact: true }).fill('short')
      await page.getByLabel('Repeat the password').fill('other')
      await page.getByRole('button', { name: 'Create admin' }).click()
      await hasText(page.locator('#field-password-msg'), 'must be at least 8 characters')
      await hasText(page.locator('#field-password_confirm-msg'), 'does not match the password')
      expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([])
    } finally {
      await context.close()
      await freshServer.stop()
      fresh.close()
    }
  })
})
