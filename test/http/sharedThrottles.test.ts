import { afterEach, describe, expect, test } from 'bun:test'
import { createApiKey } from '../../src/domain/keys.ts'
import { createTestApp, listen, postgresOnly, type TestApp, testDatabaseUrl } from '../utils.ts'

let apps: TestApp[] = []
afterEach(() => {
  for (const a of apps) a.close()
  apps = []
})

/** Two nodes (cores) on one PostgreSQL database, as behind a load balancer. */
async function twoNodes(env: Record<string, string>): Promise<[TestApp, TestApp]> {
  const url = await testDatabaseUrl()
  const settings = { api_enabled: true }
  const a = await createTestApp({ env: { MIDA_DATABASE_URL: url, ...env }, settings })
  const b = await createTestApp({ env: { MIDA_DATABASE_URL: url, ...env } })
  apps.push(a, b)
  return [a, b]
}

const badSync = (t: TestApp) =>
  t.request('/apiv1/analytics/sync', {
    method: 'POST',
    headers: {
      authorization: 'Bearer mida_sk_wrong_key_for_this_store',
      'content-type': 'application/json',
    },
    body: '{}',
  })

describe('failed-attempt throttles shared by the nodes of one database', () => {
  postgresOnly('API-key failures on one node count on the other (PostgreSQL only)', async () => {
    const [a, b] = await twoNodes({ MIDA_KEY_ATTEMPTS: '3/15m' })
    expect((await badSync(a)).status).toBe(401)
    expect((await badSync(a)).status).toBe(401)
    expect((await badSync(b)).status).toBe(401)
    // Three failures in all: the fourth is refused on the node that saw one of them...
    const refused = await badSync(b)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(890)
    // ...and, once its reading is a second old, on the node that saw two.
    a.clock.advance({ seconds: 1 })
    expect((await badSync(a)).status).toBe(429)
    // The window ends for both.
    a.clock.advance({ minutes: 15 })
    b.clock.advance({ minutes: 15, seconds: 1 })
    expect((await badSync(a)).status).toBe(401)
    expect((await badSync(b)).status).toBe(401)
  })
})

describe('the key throttle and good keys', () => {
  test('a burst of good calls from one address is never refused, however many are in flight', async () => {
    const t = await createTestApp({
      env: { MIDA_KEY_ATTEMPTS: '10/15m' },
      settings: { api_enabled: true },
    })
    apps.push(t)
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    const server = listen(t.app)
    try {
      const call = async () => {
        const res = await fetch(`${server.url}/apiv1/analytics/sync`, {
          method: 'POST',
          headers: { 'x-mida-secret-key': key },
        })
        await res.arrayBuffer()
        return res.status
      }
      // More calls in flight at once than the allowance of failures (a first version counted
      // them as pending failures and refused the 11th: 47 818 refusals in a bench run).
      const statuses = await Promise.all(Array.from({ length: 60 }, call))
      expect(new Set(statuses)).toEqual(new Set([200]))
    } finally {
      await server.stop()
    }
  })
})
