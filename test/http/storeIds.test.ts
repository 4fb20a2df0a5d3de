// A store created on the settings page may get the id of a store deleted before (SQLite numbers
// rows from the highest id there is): the tracker's memory of the old store's visitors must not
// carry over into it.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createStore, deleteStore, listStores } from '../../src/domain/stores.ts'
import { createTestApp, type TestApp } from '../utils.ts'

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
const cli = { actor: 'cli', address: null }

let t: TestApp
beforeEach(async () => {
  t = await createTestApp({ now: '2026-11-25T15:00:00Z' })
})
afterEach(() => t.close())

const pageview = (trackingId: string, url: string) =>
  t.request('/apiv1/collect', {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER },
    body: JSON.stringify({ store: trackingId, visitor: 'visitor-1', event: 'pageview', url }),
  })

test('a store added on /stores starts with no visitor of a deleted store, even with its id', async () => {
  const old = await createStore(t.data, { slug: 'old' }, t.clock, cli)
  expect((await pageview(old.trackingId, 'https://old.example/a')).status).toBe(204)
  await deleteStore(t.data, 'old', t.clock, cli)
  const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  const session = await startSession(t.data, admin.id, t.clock)
  const added = await t.request('/stores', {
    method: 'POST',
    headers: {
      cookie: `mida_session=${session.token}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ _csrf: session.csrfToken, slug: 'new', name: 'New' }),
  })
  expect([added.status, added.headers.get('location')]).toEqual([303, '/stores/new/settings'])
  const fresh = (await listStores(t.data)).find((s) => s.slug === 'new')!
  expect((await pageview(fresh.trackingId, 'https://new.example/b')).status).toBe(204)
  expect(
    await t.data.all(
      'SELECT visitor_id, pageviews, landing_page FROM sessions WHERE store_id = ?',
      fresh.id,
    ),
  ).toEqual([{ visitor_id: 'visitor-1', pageviews: 1, landing_page: '/b' }])
})

test('a tracking id with a NUL byte is unknown (404), on PostgreSQL too, which refuses it in text', async () => {
  const webhook = await t.request('/apiv1/webhooks/shopify/orders/%00Id', {
    method: 'POST',
    body: '{}',
  })
  expect([webhook.status, await webhook.json()]).toEqual([
    404,
    { success: false, error: 'No store has this tracking id' },
  ])
  const event = await pageview(`${t.store.trackingId}\u0000`, 'https://shop.example/')
  expect(event.status).toBe(404)
  expect(await t.data.all('SELECT id FROM sessions')).toEqual([])
})
