import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { assetUrl } from '../../views/assets.ts'
import { createTestApp, type TestApp } from '../utils.ts'

let t: TestApp
beforeEach(async () => {
  t = await createTestApp()
})
afterEach(() => t.close())

describe('GET /assets/:name', () => {
  test('an asset with its hash is cached for a year', async () => {
    const res = await t.request(assetUrl('app.css'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  test('names of Object.prototype members are not assets: 404', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const res = await t.request(`/assets/${name}`)
      expect(res.status).toBe(404)
      expect(await res.text()).toBe('Not found')
    }
    expect(() => assetUrl('constructor')).toThrow('Unknown asset constructor')
  })
})
