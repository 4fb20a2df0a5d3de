// Migrations 13 (keys: scope report, expires_at, grace periods) and 14 (destinations; the outbox
// rebuilt with kind and dedupe) on an installation at version 12: every key keeps its id, hash
// and state, every call-log row its key, every outbox row its content with the dedupe a sync
// would give it; new rows get fresh ids, and a period already notified is not notified twice.
import { afterEach, expect, test } from 'bun:test'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import {
  authenticateApiKey,
  createApiKey,
  generateApiKey,
  hashApiKey,
  keyState,
  listApiKeys,
} from '../../src/domain/keys.ts'
import { queueSyncNotification, type SyncOutcome } from '../../src/domain/notifications.ts'
import { previousPeriod } from '../../src/domain/periods.ts'
import { readSettings } from '../../src/domain/settings.ts'
import { findStoreById } from '../../src/domain/stores.ts'
import { onPostgres } from '../utils.ts'
import { upgradedInstall } from './upgradedInstall.ts'

const NOW = '2026-11-26T06:00:00Z'
const clock = new FixedClock(NOW)
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** The secrets of the three keys version 12 holds: an active one, a revoked one, another store's. */
const SECRETS = [generateApiKey(), generateApiKey(), generateApiKey()] as const

/** The start of the day before NOW in UTC (the default time zone): the periods the outbox holds. */
const DAY_START = previousPeriod(Temporal.Instant.from(NOW), 'daily', 'UTC', 'monday').start
  .epochMilliseconds
const DAY = 86_400_000

/** What version 12 wrote: two stores, their keys, the call log using them, their emails. */
function oldRows(): string[] {
  const [a, b, c] = SECRETS.map((s) => `'${hashApiKey(s)}'`)
  const [pa, pb, pc] = SECRETS.map((s) => `'${s.slice(0, 12)}'`)
  const email = (
    id: number,
    store: number,
    frequency: string,
    start: number,
    outcome: string,
    status: string,
  ) =>
    `INSERT INTO outbox (id, store_id, frequency, period_start, outcome, period_label, recipient,
       subject, payload, status, attempts, last_error, smtp_response, next_attempt_at, lease_owner,
       lease_until, created_at, sent_at)
     VALUES (${id}, ${store}, '${frequency}', ${start}, '${outcome}', 'label ${id}',
       'owner@shop.example', 'subject ${id}', '{"n":${id}}', '${status}', 1, NULL,
       ${status === 'sent' ? "'250 OK'" : 'NULL'}, 100, NULL, NULL, ${90 + id},
       ${status === 'sent' ? 200 : 'NULL'})`
  return [
    "INSERT INTO stores (id, tracking_id, data_revision, created_at, slug) VALUES (1, 'MIDA-a', 0, 5, 'default')",
    "INSERT INTO stores (id, tracking_id, data_revision, created_at, slug) VALUES (2, 'MIDA-b', 0, 5, 'outlet')",
    `INSERT INTO api_keys (id, store_id, name, scope, prefix, key_hash, created_at, last_used_at, revoked_at)
     VALUES (3, 1, 'looker', 'export', ${pa}, ${a}, 10, 20, NULL)`,
    `INSERT INTO api_keys (id, store_id, name, scope, prefix, key_hash, created_at, last_used_at, revoked_at)
     VALUES (7, 1, 'loader', 'ingest', ${pb}, ${b}, 11, NULL, 30)`,
    `INSERT INTO api_keys (id, store_id, name, scope, prefix, key_hash, created_at, last_used_at, revoked_at)
     VALUES (8, 2, 'looker', 'export', ${pc}, ${c}, 12, NULL, NULL)`,
    ...[
      [1, 1, 3, 200, null],
      [2, 1, 7, 200, null],
      [3, 2, 8, 200, null],
      [4, 1, null, 401, "'Invalid API key'"],
      [5, 1, 3, 304, null],
    ].map(
      ([id, store, key, status, error]) =>
        `INSERT INTO sync_requests (id, store_id, at, key_id, address, status, duration_ms, error, count)
         VALUES (${id}, ${store}, ${100 + Number(id)}, ${key ?? 'NULL'}, '203.0.113.9', ${status}, 1.5, ${error ?? 'NULL'}, 1)`,
    ),
    email(4, 1, 'daily', DAY_START - DAY, 'success', 'sent'),
    email(9, 1, 'daily', DAY_START, 'failed', 'pending'),
    email(12, 2, 'weekly', DAY_START - 7 * DAY, 'success', 'sent'),
  ]
}

/** A database at version 12 holding oldRows(), then migrated to the latest (ids as that version's inserts would have left them). */
async function oldInstallMigrated(): Promise<{ dataDir: string; databaseUrl: string | undefined }> {
  const { cleanup, ...at } = await upgradedInstall(12, oldRows(), [
    'stores',
    'api_keys',
    'sync_requests',
    'outbox',
  ])
  cleanups.push(cleanup)
  return at
}

test('keys keep their ids, hashes and states; the call log keeps every key reference', async () => {
  const at = await oldInstallMigrated()
  const data = await openData({ ...at, secretKey: undefined })
  cleanups.push(() => data.close())
  expect(
    await data.all(
      `SELECT id, store_id, name, scope, prefix, key_hash, created_at, last_used_at, revoked_at,
         expires_at FROM api_keys ORDER BY id`,
    ),
  ).toEqual(
    [
      [3, 1, 'looker', 'export', 20, null],
      [7, 1, 'loader', 'ingest', null, 30],
      [8, 2, 'looker', 'export', null, null],
    ].map(([id, store, name, scope, lastUsed, revoked], i) => ({
      id,
      store_id: store,
      name,
      scope,
      prefix: SECRETS[i]!.slice(0, 12),
      key_hash: hashApiKey(SECRETS[i]!),
      created_at: 10 + i,
      last_used_at: lastUsed,
      revoked_at: revoked,
      expires_at: null,
    })),
  )
  const store = (await findStoreById(data, 1))!
  const now = clock.now().epochMilliseconds
  expect((await listApiKeys(data, store)).map((k) => [k.id, keyState(k, now)])).toEqual([
    [7, 'revoked'],
    [3, 'active'],
  ])
  // The secrets still open what they opened.
  expect((await authenticateApiKey(data, SECRETS[0], 'export', clock))?.id).toBe(3)
  expect(await authenticateApiKey(data, SECRETS[1], 'ingest', clock)).toBeNull()
  expect((await authenticateApiKey(data, SECRETS[2], 'export', clock))?.id).toBe(8)
  expect(
    await data.all('SELECT id, store_id, key_id, status FROM sync_requests ORDER BY id'),
  ).toEqual([
    { id: 1, store_id: 1, key_id: 3, status: 200 },
    { id: 2, store_id: 1, key_id: 7, status: 200 },
    { id: 3, store_id: 2, key_id: 8, status: 200 },
    { id: 4, store_id: 1, key_id: null, status: 401 },
    { id: 5, store_id: 1, key_id: 3, status: 304 },
  ])
  // A new key gets a fresh id; a report key that expires is accepted by the new schema.
  const fresh = await createApiKey(data, store, 'sheet', 'report', clock, undefined, {
    expiresAt: now + DAY,
  })
  expect([fresh.key.id, fresh.key.scope, fresh.key.expiresAt]).toEqual([9, 'report', now + DAY])
})

test('outbox rows keep their content and get the dedupe of their sync; new rows fresh ids, no email twice', async () => {
  const at = await oldInstallMigrated()
  const data = await openData({ ...at, secretKey: undefined })
  cleanups.push(() => data.close())
  expect(
    await data.all(
      `SELECT id, store_id, destination_id, kind, dedupe, frequency, period_start, outcome,
         period_label, recipient, subject, payload, status, attempts, smtp_response, created_at,
         sent_at FROM outbox ORDER BY id`,
    ),
  ).toEqual(
    (
      [
        [4, 1, 'daily', DAY_START - DAY, 'success', 'sent'],
        [9, 1, 'daily', DAY_START, 'failed', 'pending'],
        [12, 2, 'weekly', DAY_START - 7 * DAY, 'success', 'sent'],
      ] as const
    ).map(([id, store, frequency, start, outcome, status]) => ({
      id,
      store_id: store,
      destination_id: null,
      kind: 'sync',
      dedupe: `email:sync:${frequency}:${start}:${outcome}`,
      frequency,
      period_start: start,
      outcome,
      period_label: `label ${id}`,
      recipient: 'owner@shop.example',
      subject: `subject ${id}`,
      payload: `{"n":${id}}`,
      status,
      attempts: 1,
      smtp_response: status === 'sent' ? '250 OK' : null,
      created_at: 90 + id,
      sent_at: status === 'sent' ? 200 : null,
    })),
  )

  const store = (await findStoreById(data, 1))!
  const settings = { ...(await readSettings(data, store)), store_email: 'owner@shop.example' }
  const outcome = (start: number, result: 'success' | 'failed'): SyncOutcome => ({
    outcome: result,
    frequency: 'daily',
    period: previousPeriod(
      Temporal.Instant.fromEpochMilliseconds(start + DAY + 1),
      'daily',
      'UTC',
      'monday',
    ),
    syncedAt: clock.now(),
    trigger: 'api',
    ...(result === 'failed' ? { error: 'boom' } : {}),
  })
  // The period whose failure is queued already (row 9) is not queued again.
  expect(
    await data.tx((q) =>
      queueSyncNotification(q, store, settings, outcome(DAY_START, 'failed'), clock),
    ),
  ).toBe(false)
  // Another outcome of it is a new row, with the next id (PostgreSQL: the sequence moved on).
  const wantsSuccess = { ...settings, notify_success: true }
  expect(
    await data.tx((q) =>
      queueSyncNotification(q, store, wantsSuccess, outcome(DAY_START, 'success'), clock),
    ),
  ).toBe(true)
  // PostgreSQL spent 13 on the insert refused above (a sequence never goes back); the migration
  // moved the rebuilt table's sequence past the copied rows, or this insert would have failed.
  expect(await data.all('SELECT id, kind, dedupe FROM outbox WHERE id > 12')).toEqual([
    { id: onPostgres ? 14 : 13, kind: 'sync', dedupe: `email:sync:daily:${DAY_START}:success` },
  ])
  // A destination can be added beside them (migration 14's table).
  await data.run(
    `INSERT INTO destinations (store_id, type, name, url, url_hint, secret, created_at)
     VALUES (1, 'webhook', 'hook', 'sealed', 'https://hooks.example/…', NULL, 5)`,
  )
  expect(await data.all('SELECT id, store_id, type FROM destinations')).toEqual([
    { id: 1, store_id: 1, type: 'webhook' },
  ])
})
