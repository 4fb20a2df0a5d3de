// The list of stores (listStores) is read once and remembered until the stores change: the
// tracker's preflight asks for it on every request, and read it from the database each time (100
// stores: 4-5x fewer preflights a second than with one, bench/stores.ts). A store added or
// deleted, here or by another connection (another process, another node), is seen at once.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import type { Data } from '../../src/db/data.ts'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import {
  createStore,
  deleteStore,
  ensureDefaultStore,
  listStores,
} from '../../src/domain/stores.ts'
import { onPostgres, tempDir, testDatabaseUrl } from '../utils.ts'

const clock = new FixedClock('2026-11-26T06:00:00Z')
const by = { actor: 'cli', address: null }
const slugs = async (data: Data) => (await listStores(data)).map((s) => s.slug)
/** The read cache asks whether the database changed once per turn of the event loop. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

let server: Data
let other: Data
let cleanup: () => void

beforeEach(async () => {
  const dir = tempDir()
  cleanup = dir.cleanup
  const databaseUrl = onPostgres ? await testDatabaseUrl() : undefined
  server = await openData({ dataDir: dir.dir, databaseUrl, secretKey: undefined })
  await ensureDefaultStore(server, clock)
  // Another process on the same database: the command line beside the server, or another node.
  other = await openData({ dataDir: dir.dir, databaseUrl, secretKey: undefined })
})

afterEach(async () => {
  await server.close()
  await other.close()
  cleanup()
})

test('the list is read once: asked again, the same list comes back without a query', async () => {
  const first = await listStores(server)
  expect(first.map((s) => s.slug)).toEqual(['default'])
  expect(await listStores(server)).toBe(first)
})

test('a store created or deleted by the same process is seen at once', async () => {
  expect(await slugs(server)).toEqual(['default'])
  await createStore(server, { slug: 'outlet' }, clock, by)
  expect(await slugs(server)).toEqual(['default', 'outlet'])
  await deleteStore(server, 'outlet', clock, by)
  expect(await slugs(server)).toEqual(['default'])
})

test('a store created or deleted by another process is seen at once', async () => {
  expect(await slugs(server)).toEqual(['default'])
  await createStore(other, { slug: 'outlet' }, clock, by)
  await nextTurn()
  expect(await slugs(server)).toEqual(['default', 'outlet'])
  await deleteStore(other, 'outlet', clock, by)
  await nextTurn()
  expect(await slugs(server)).toEqual(['default'])
})

test('the first store of a fresh install is listed once created', async () => {
  const dir = tempDir()
  const fresh = await openData({
    dataDir: dir.dir,
    databaseUrl: onPostgres ? await testDatabaseUrl() : undefined,
    secretKey: undefined,
  })
  try {
    expect(await slugs(fresh)).toEqual([])
    await ensureDefaultStore(fresh, clock)
    expect(await slugs(fresh)).toEqual(['default'])
  } finally {
    await fresh.close()
    dir.cleanup()
  }
})
