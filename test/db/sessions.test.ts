// A visitor's latest session, as the tracker (LATEST_SESSION_SQL) and the order webhook's
// attribution (visitorSessionAt) find it.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { LATEST_SESSION_SQL, visitorSessionAt } from '../../src/db/sessions.ts'
import { writeSessions } from '../../src/domain/ingest/writers.ts'
import type { SessionRecord } from '../../src/domain/records.ts'
import { openTestStore, type TestStore } from '../utils.ts'

let t: TestStore
beforeEach(async () => {
  t = await openTestStore()
})
afterEach(() => t.close())

const session = (id: string, started: string, ended: string): SessionRecord => ({
  id,
  visitor_id: 'v',
  started_at: Date.parse(started),
  ended_at: Date.parse(ended),
  pageviews: 1,
  device: 'desktop',
  source: 'direct',
  landing_page: '/',
  viewed_product: false,
  added_to_cart: false,
  reached_checkout: false,
})

const latest = async () =>
  (await t.data.get<{ id: string }>(LATEST_SESSION_SQL, t.store.id, 'v'))?.id ?? null

test('the latest by start; at the same start, the later end; then the greater id, in any storing order', async () => {
  expect(await latest()).toBeNull()
  await writeSessions(
    t.data,
    t.store,
    [session('m', '2026-11-20T10:00:00Z', '2026-11-20T10:05:00Z')],
    t.clock,
  )
  await writeSessions(
    t.data,
    t.store,
    [session('early', '2026-11-20T09:00:00Z', '2026-11-20T11:00:00Z')],
    t.clock,
  )
  expect(await latest()).toBe('m')
  // Same start, later end: that one.
  await writeSessions(
    t.data,
    t.store,
    [session('k', '2026-11-20T10:00:00Z', '2026-11-20T10:09:00Z')],
    t.clock,
  )
  expect(await latest()).toBe('k')
  // Same start and end as k: the greater id, whichever was stored last.
  await writeSessions(
    t.data,
    t.store,
    [session('z', '2026-11-20T10:00:00Z', '2026-11-20T10:09:00Z')],
    t.clock,
  )
  await writeSessions(
    t.data,
    t.store,
    [session('b', '2026-11-20T10:00:00Z', '2026-11-20T10:09:00Z')],
    t.clock,
  )
  expect(await latest()).toBe('z')
  // The attribution of an order at a time: the latest session started by then, same rule.
  const at = (iso: string) => visitorSessionAt(t.data, t.store.id, 'v', Date.parse(iso))
  expect(await at('2026-11-20T08:59:59Z')).toBeNull()
  expect(await at('2026-11-20T09:30:00Z')).toBe('early')
  expect(await at('2026-11-20T10:00:00Z')).toBe('z')
})
