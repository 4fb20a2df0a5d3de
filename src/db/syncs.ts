// The stored syncs (`sync_records`): one row per store, frequency and period, holding the body
// last sent (or the last failure), the data revision it was computed at and the settings it
// was worded with; and the hours changed since (`data_changes`), which make a stored body stale.
import type { Frequency } from '../domain/periods.ts'
import type { SyncTrigger } from '../domain/sync.ts'
import type { Queries } from './data.ts'

/** A stored sync as the sync API reads it back. */
export interface StoredSyncRow {
  status: 'success' | 'failed'
  body: string | null
  etag: string | null
  data_revision: number
  fingerprint: string
}

/** Which stored sync: a store's period of one frequency, by its start (epoch ms). */
export interface SyncKey {
  storeId: number
  frequency: Frequency
  periodStart: number
}

/** The stored sync of a period, or null. */
export function storedSync(q: Queries, key: SyncKey): Promise<StoredSyncRow | null> {
  return q.get<StoredSyncRow>(
    `SELECT status, body, etag, data_revision, fingerprint FROM sync_records
     WHERE store_id = ? AND frequency = ? AND period_start = ?`,
    key.storeId,
    key.frequency,
    key.periodStart,
  )
}

/** True when a successful sync of the period is stored (by the scheduler, the API or the CLI). */
export async function isSynced(q: Queries, key: SyncKey): Promise<boolean> {
  const row = await q.get<{ synced: number }>(
    `SELECT 1 AS synced FROM sync_records WHERE store_id = ? AND frequency = ? AND period_start = ?
       AND status = 'success'`,
    key.storeId,
    key.frequency,
    key.periodStart,
  )
  return row !== null
}

/** The latest data revision that changed an hour in [fromHour, toHour), or null if none did. */
export async function latestChange(
  q: Queries,
  storeId: number,
  fromHour: number,
  toHour: number,
): Promise<number | null> {
  const row = await q.get<{ latest: number | null }>(
    'SELECT max(revision) AS latest FROM data_changes WHERE store_id = ? AND hour >= ? AND hour < ?',
    storeId,
    fromHour,
    toHour,
  )
  return row?.latest ?? null
}

/** What a sync stores about its period, success or failure. */
export interface SyncRecordWrite extends SyncKey {
  periodEnd: number
  periodLabel: string
  trigger: SyncTrigger
  fingerprint: string
  syncedAt: number
}

/** Stores a successful sync's body, replacing whatever the period held. */
export function saveSyncSuccess(
  q: Queries,
  r: SyncRecordWrite & { body: string; etag: string; dataRevision: number },
): Promise<number> {
  return q.run(
    `INSERT INTO sync_records (store_id, frequency, period_start, period_end, period_label, status,
       trigger, body, etag, error, data_revision, fingerprint, synced_at)
     VALUES (?, ?, ?, ?, ?, 'success', ?, ?, ?, NULL, ?, ?, ?)
     ON CONFLICT (store_id, frequency, period_start) DO UPDATE SET period_end = excluded.period_end,
       period_label = excluded.period_label, status = 'success', trigger = excluded.trigger,
       body = excluded.body, etag = excluded.etag, error = NULL,
       data_revision = excluded.data_revision, fingerprint = excluded.fingerprint,
       synced_at = excluded.synced_at`,
    r.storeId,
    r.frequency,
    r.periodStart,
    r.periodEnd,
    r.periodLabel,
    r.trigger,
    r.body,
    r.etag,
    r.dataRevision,
    r.fingerprint,
    r.syncedAt,
  )
}

/** Stores a failed attempt, unless a successful sync of the period is stored already. */
export function saveSyncFailure(
  q: Queries,
  r: SyncRecordWrite & { error: string },
): Promise<number> {
  return q.run(
    `INSERT INTO sync_records (store_id, frequency, period_start, period_end, period_label,
       status, trigger, error, data_revision, fingerprint, synced_at)
     VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, 0, ?, ?)
     ON CONFLICT (store_id, frequency, period_start) DO UPDATE SET trigger = excluded.trigger,
       error = excluded.error, synced_at = excluded.synced_at
     WHERE sync_records.status = 'failed'`,
    r.storeId,
    r.frequency,
    r.periodStart,
    r.periodEnd,
    r.periodLabel,
    r.trigger,
    r.error,
    r.fingerprint,
    r.syncedAt,
  )
}

/** A stored sync as the settings page and the CLI list it. */
export interface SyncRecordRow {
  id: number
  frequency: Frequency
  period_label: string
  status: 'success' | 'failed'
  trigger: SyncTrigger
  error: string | null
  synced_at: number
  body: string | null
}

/** A store's most recent stored syncs, newest first. */
export function recentSyncRecordRows(
  q: Queries,
  storeId: number,
  limit: number,
): Promise<SyncRecordRow[]> {
  return q.all<SyncRecordRow>(
    `SELECT id, frequency, period_label, status, trigger, error, synced_at, body
     FROM sync_records WHERE store_id = ? ORDER BY synced_at DESC, id DESC LIMIT ?`,
    storeId,
    limit,
  )
}
