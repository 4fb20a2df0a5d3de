import { describe, expect, test } from 'bun:test'
import { createTestApp } from './utils.ts'

describe('healthz', () => {
  test('answers ok with the version', async () => {
    const t = await createTestApp()
    const res = await t.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', version: '0.1.0' })
    t.close()
  })
})
