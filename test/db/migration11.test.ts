// Migration 11 on an installation made before stores had names: its one store becomes
// `default`, every admin sees every store, nothing stored changes, and the next store created
// gets a free id, on both engines.
import { afterEach, expect, test } from 'bun:test'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { createStore, ensureDefaultStore, listStores } from '../../src/domain/stores.ts'
import { upgradedInstall } from './upgradedInstall.ts'

const clock = new FixedClock('2026-11-26T06:00:00Z')
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** What version 10 wrote: a store with an explicit id, its settings, a session, an admin. */
const OLD_ROWS = [
  "INSERT INTO stores (id, tracking_id, data_revision, created_at) VALUES (1, 'MIDA-old', 7, 5)",
  "INSERT INTO store_settings (store_id, key, value, updated_at) VALUES (1, 'store_name', 'Old Shop', 5)",
  `INSERT INTO sessions (store_id, id, visitor_id, started_at, ended_at, pageviews, device, source,
     landing_page, viewed_product, added_to_cart, reached_checkout, updated_at)
   VALUES (1, 's1', 'v1', 1000, 2000, 3, 'mobile', 'organic', '/a', 1, 0, 0, 5)`,
  "INSERT INTO admins (id, email, password_hash, created_at, updated_at) VALUES (1, 'me@shop.example', 'x', 5, 5)",
]

/** A database at version 10 holding OLD_ROWS, then migrated to the latest. */
async function oldInstallMigrated(): Promise<{ dataDir: string; databaseUrl: string | undefined }> {
  const { cleanup, ...at } = await upgradedInstall(10, OLD_ROWS)
  cleanups.push(cleanup)
  return at
}

test('an existing store becomes "default" with nothing lost; the next store gets a new id', async () => {
  const at = await oldInstallMigrated()
  const data = await openData({ ...at, secretKey: undefined })
  cleanups.push(() => data.close())
  expect(await listStores(data)).toEqual([{ id: 1, slug: 'default', trackingId: 'MIDA-old' }])
  expect(await ensureDefaultStore(data, clock)).toEqual({
    id: 1,
    slug: 'default',
    trackingId: 'MIDA-old',
  })
  expect(
    await data.all('SELECT id, tracking_id, data_revision, created_at, slug FROM stores'),
  ).toEqual([{ id: 1, tracking_id: 'MIDA-old', data_revision: 7, created_at: 5, slug: 'default' }])
  expect(await data.all('SELECT store_id, key, value FROM store_settings')).toEqual([
    { store_id: 1, key: 'store_name', value: 'Old Shop' },
  ])
  expect(await data.all('SELECT store_id, id, visitor_id, pageviews FROM sessions')).toEqual([
    { store_id: 1, id: 's1', visitor_id: 'v1', pageviews: 3 },
  ])
  // The admin made before stores had names sees every store.
  expect(await data.all('SELECT id, all_stores FROM admins')).toEqual([{ id: 1, all_stores: 1 }])
  expect(await data.all('SELECT * FROM admin_stores')).toEqual([])
  const outlet = await createStore(data, { slug: 'outlet' }, clock, { actor: 'cli', address: null })
  expect(outlet.id).toBe(2)
  expect((await listStores(data)).map((s) => s.slug)).toEqual(['default', 'outlet'])
})
