import { afterEach, describe, expect, test } from 'bun:test'
import { formField } from '../../src/http/html.ts'
import { createTestApp, type TestApp } from '../utils.ts'

let t: TestApp
afterEach(() => t?.close())

describe('one error style: handlers throw, onError answers', () => {
  test('the API answers its JSON shape even to htmx and to a browser asking for a page', async () => {
    t = await createTestApp()
    const asked: Record<string, string>[] = [
      { 'hx-request': 'true' },
      { accept: 'text/html,application/xhtml+xml' },
      { 'hx-request': 'true', accept: 'text/html' },
      {},
    ]
    for (const headers of asked) {
      const answers = [
        await t.request('/apiv1/import/sessions', { method: 'POST', headers, body: '{}\n' }),
        await t.request('/apiv1/import/visitors', { method: 'POST', headers, body: '' }),
        await t.request('/apiv1/webhooks/shopify/orders', { method: 'POST', headers, body: '{}' }),
      ]
      expect(
        await Promise.all(
          answers.map(async (res) => ({
            status: res.status,
            type: res.headers.get('content-type'),
            body: await res.json(),
          })),
        ),
      ).toEqual([
        {
          status: 401,
          type: 'application/json; charset=utf-8',
          body: { success: false, error: 'Invalid API key' },
        },
        {
          status: 404,
          type: 'application/json; charset=utf-8',
          body: { success: false, error: 'Import kind must be sessions or orders' },
        },
        {
          status: 401,
          type: 'application/json; charset=utf-8',
          body: { success: false, error: 'Invalid webhook signature' },
        },
      ])
    }
  })

  test('pages still answer htmx with a fragment and a browser with a page', async () => {
    t = await createTestApp()
    const fragment = await t.request('/nowhere', { headers: { 'hx-request': 'true' } })
    expect([fragment.status, await fragment.text()]).toEqual([
      404,
      '<p class="error" role="alert">Not found</p>',
    ])
    const page = await t.request('/nowhere', { headers: { accept: 'text/html' } })
    expect(page.status).toBe(404)
    expect(await page.text()).toContain('Page not found')
  })
})

describe('formField', () => {
  test('the last text value of a field; undefined when missing or not text', () => {
    const body = { one: 'a', many: ['false', 'true'], file: new Blob(['x']), empty: '' }
    expect(formField(body, 'one')).toBe('a')
    expect(formField(body, 'many')).toBe('true')
    expect(formField(body, 'empty')).toBe('')
    expect(formField(body, 'file')).toBeUndefined()
    expect(formField(body, 'missing')).toBeUndefined()
    expect(formField(null, 'one')).toBeUndefined()
    expect(formField('one=a', 'one')).toBeUndefined()
  })
})
