import { describe, expect, test } from 'bun:test'
import { createTestApp, TEST_ENGINE } from './utils.ts'

describe('healthz', () => {
  test('answers ok with the version, the engine and that the database answers', async () => {
    const t = await createTestApp()
    const res = await t.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      status: 'ok',
      version: '0.1.0',
      engine: TEST_ENGINE,
      database: 'ok',
    })
    t.close()
  })

  test('a database that does not answer is a 503 naming the engine', async () => {
    const t = await createTestApp()
    await t.data.close()
    const res = await t.request('/healthz')
    expect(res.status).toBe(503)
    const body = (await res.json()) as Record<string, unknown>
    const shape: Record<string, unknown> = { ...body, error: typeof body.error }
    expect(shape).toEqual({
      status: 'error',
      version: '0.1.0',
      engine: TEST_ENGINE,
      database: 'unreachable',
      error: 'string',
    })
  })
})
