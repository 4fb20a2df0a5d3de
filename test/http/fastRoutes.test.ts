import { afterEach, describe, expect, test } from 'bun:test'
import { createApiKey } from '../../src/domain/keys.ts'
import { createTestApp, listen, type TestApp } from '../utils.ts'

let t: TestApp
afterEach(() => t?.close())

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

/** Headers that describe one answer's body or moment, not the route: left out of the comparison. */
const PER_ANSWER = new Set(['content-type', 'content-length', 'date', 'etag', 'vary'])

/** The headers two Elysia-served answers (a 200 and a 404 page) share: what Elysia adds to all. */
async function elysiaHeaders(url: string): Promise<Record<string, string>> {
  const health = await fetch(`${url}/healthz`)
  const missing = await fetch(`${url}/nowhere`, { headers: { accept: 'text/html' } })
  expect([health.status, missing.status]).toEqual([200, 404])
  const shared: Record<string, string> = {}
  for (const [name, value] of health.headers) {
    if (!PER_ANSWER.has(name) && missing.headers.get(name) === value) shared[name] = value
  }
  return shared
}

/** The same header names, with the values the answer carries. */
function sameNames(res: Response, expected: Record<string, string>): Record<string, string | null> {
  return Object.fromEntries(Object.keys(expected).map((name) => [name, res.headers.get(name)]))
}

describe('routes served from Bun’s router carry the headers Elysia’s answers carry', () => {
  for (const baseUrl of ['http://127.0.0.1', 'https://mida.example']) {
    test(`sync and collect answers, success and failure, over ${baseUrl.split(':')[0]}`, async () => {
      t = await createTestApp({
        env: { MIDA_BASE_URL: baseUrl },
        settings: { api_enabled: 'true' },
      })
      const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
      const server = listen(t.app)
      try {
        const expected = await elysiaHeaders(server.url)
        // The security plugin's headers, seen on Elysia's answers (HSTS only over https).
        expect(Object.keys(expected).sort()).toEqual(
          [
            'content-security-policy',
            'cross-origin-opener-policy',
            'referrer-policy',
            'x-content-type-options',
            'x-frame-options',
            ...(baseUrl.startsWith('https:') ? ['strict-transport-security'] : []),
          ].sort(),
        )
        const sync = (headers: Record<string, string>, body?: string) =>
          fetch(`${server.url}/apiv1/analytics/sync`, { method: 'POST', headers, body })
        const collect = (body: string) =>
          fetch(`${server.url}/apiv1/collect`, {
            method: 'POST',
            headers: { 'user-agent': DESKTOP, 'content-type': 'text/plain' },
            body,
          })
        const event = (store: string) =>
          JSON.stringify({
            store,
            visitor: 'visitor-0001',
            event: 'pageview',
            url: 'https://shop.example/',
          })
        const answers: [string, Response, number][] = [
          ['sync', await sync({ 'x-mida-secret-key': key }), 200],
          ['sync, no key', await sync({}), 401],
          ['sync, bad body', await sync({ 'x-mida-secret-key': key }, '{'), 400],
          ['collect', await collect(event(t.store.trackingId)), 204],
          ['collect, bad body', await collect('nope'), 400],
          ['collect, unknown store', await collect(event('nobody')), 404],
        ]
        // A store whose tables are gone: both routes fail on the server's side.
        await t.data.run('DROP TABLE sessions')
        const otherDay = JSON.stringify({ date: '2026-11-20' })
        answers.push(
          ['sync, broken store', await sync({ 'x-mida-secret-key': key }, otherDay), 500],
          ['collect, broken store', await collect(event(t.store.trackingId)), 500],
        )
        for (const [name, res, status] of answers) {
          expect({ name, status: res.status, headers: sameNames(res, expected) }).toEqual({
            name,
            status,
            headers: expected,
          })
        }
      } finally {
        await server.stop()
      }
    })
  }
})
