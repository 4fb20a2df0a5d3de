import { createHash } from 'node:crypto'
import type { Database } from '../db/database.ts'
import type { Clock } from './clock.ts'
import { AppError, Conflict, InvalidInput } from './errors.ts'
import { computeMetrics, type Metrics } from './metrics.ts'
import { queueSyncNotificationOn } from './notifications.ts'
import {
  type Frequency,
  isComplete,
  type Period,
  type PeriodJson,
  periodContaining,
  periodJson,
  previousPeriod,
} from './periods.ts'
import { dataRevision } from './revisions.ts'
import { readSettingsOn, type StoreSettings } from './settings.ts'

export type SyncTrigger = 'api' | 'cli' | 'scheduler'

/** The success body of the sync API, stored as sent. */
interface SyncBody {
  success: true
  message: 'Sync successful'
  frequency: Frequency
  period: PeriodJson
  synced_at: string
  currency: string
  data: Metrics
}

export interface SyncRequest {
  /** Asked-for frequency; with `strictFrequency` it must equal the saved one. */
  frequency?: Frequency
  /** A store-local date inside the wanted period; default: the last completed period. */
  date?: Temporal.PlainDate
  trigger: SyncTrigger
  /** The API refuses a frequency other than the saved one (409); the CLI may override it. */
  strictFrequency: boolean
}

export interface SyncResult {
  /** The JSON body exactly as stored and sent. */
  body: string
  etag: string
  period: Period
  frequency: Frequency
  /** False when the stored record was served again unchanged. */
  computed: boolean
}

/** A sync failed while computing; the API answers 500 `Sync failed`. */
export class SyncFailed extends AppError {
  constructor(override readonly cause: unknown) {
    super(500, 'Sync failed')
  }
}

/** A stored body and the store revision at which it was known to be current. */
interface CheckedBody {
  body: string
  etag: string
  revision: number
}

interface RecordRow {
  status: 'success' | 'failed'
  body: string | null
  etag: string | null
  data_revision: number
  fingerprint: string
}

const HOUR_MS = 3_600_000

/** Settings that change what a stored body says; a change makes it stale. */
function fingerprint(settings: StoreSettings): string {
  return `${settings.timezone}|${settings.currency}|${settings.week_start}`
}

/** The strong ETag of a body. */
export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`
}

/** Resolves which period a request means, refusing a mismatched frequency or an open period. */
function resolvePeriod(
  settings: StoreSettings,
  request: Pick<SyncRequest, 'frequency' | 'date' | 'strictFrequency'>,
  now: Temporal.Instant,
): { frequency: Frequency; period: Period } {
  if (
    request.strictFrequency &&
    request.frequency !== undefined &&
    request.frequency !== settings.sync_frequency
  ) {
    throw new Conflict(
      `Frequency mismatch: requested ${request.frequency}, but the data sync frequency is ${settings.sync_frequency}`,
    )
  }
  const frequency = request.frequency ?? settings.sync_frequency
  const { timezone, week_start } = settings
  if (!request.date) {
    return { frequency, period: previousPeriod(now, frequency, timezone, week_start) }
  }
  const period = periodContaining(request.date, frequency, timezone, week_start)
  if (!isComplete(period, now)) {
    throw new InvalidInput(
      `date: the ${frequency} period ${period.label} is not complete yet (it ends ${period.end.toString({ timeZoneName: 'never' })})`,
    )
  }
  return { frequency, period }
}

/**
 * True when a sync of this period sends notifications (DESIGN "Notifications"): the last
 * completed period of the store's saved frequency at the sync's time, or the period the scheduler
 * syncs (it only ever syncs the latest due one). An API or CLI call for an older period or another
 * frequency is a backfill: it sends none, so a key cannot queue an email per past date.
 */
export function notifiesFor(
  settings: StoreSettings,
  trigger: SyncTrigger,
  frequency: Frequency,
  period: Period,
  now: Temporal.Instant,
): boolean {
  if (trigger === 'scheduler') return true
  if (frequency !== settings.sync_frequency) return false
  const last = previousPeriod(now, frequency, settings.timezone, settings.week_start)
  return last.start.epochMilliseconds === period.start.epochMilliseconds
}

/** True when sessions or orders of the period changed after the record was computed. */
function isStale(db: Database, storeId: number, period: Period, revision: number): boolean {
  const row = db
    .query(
      'SELECT max(revision) AS latest FROM data_changes WHERE store_id = ? AND hour >= ? AND hour < ?',
    )
    .get(
      storeId,
      Math.floor(period.start.epochMilliseconds / HOUR_MS),
      Math.ceil(period.end.epochMilliseconds / HOUR_MS),
    ) as { latest: number | null }
  return row.latest !== null && row.latest > revision
}

/**
 * Returns the sync of one period: the stored record when it is still current, otherwise
 * computed now and stored. A failure is recorded and raised as SyncFailed.
 */
export function syncPeriod(
  db: Database,
  storeId: number,
  request: SyncRequest,
  clock: Clock,
): SyncResult {
  const settings = readSettingsOn(db, storeId)
  const now = clock.now()
  const { frequency, period } = resolvePeriod(settings, request, now)
  const notify = notifiesFor(settings, request.trigger, frequency, period, now)
  const start = period.start.epochMilliseconds
  const print = fingerprint(settings)

  // Hot path: a body already checked against this store revision is still current.
  const memoKey = `sync:${storeId}:${frequency}:${start}:${print}`
  const cache = db.cache
  const current = dataRevision(db, storeId)
  const memo = cache.peek<CheckedBody>(memoKey)
  if (memo && memo.revision === current) {
    return { body: memo.body, etag: memo.etag, period, frequency, computed: false }
  }

  const stored = db
    .query(
      `SELECT status, body, etag, data_revision, fingerprint FROM sync_records
       WHERE store_id = ? AND frequency = ? AND period_start = ?`,
    )
    .get(storeId, frequency, start) as RecordRow | null
  if (
    stored?.status === 'success' &&
    stored.body !== null &&
    stored.etag !== null &&
    stored.fingerprint === print &&
    !isStale(db, storeId, period, stored.data_revision)
  ) {
    cache.set(memoKey, { body: stored.body, etag: stored.etag, revision: current })
    return { body: stored.body, etag: stored.etag, period, frequency, computed: false }
  }

  let body: string
  let revision: number
  let metrics: Metrics
  try {
    // One read transaction: the revision and the figures come from the same snapshot.
    ;({ body, revision, metrics } = db.transaction(() => {
      // Inside the transaction the read cache stands aside: this is the snapshot's revision.
      const data_revision = dataRevision(db, storeId)
      const payload: SyncBody = {
        success: true,
        message: 'Sync successful',
        frequency,
        period: periodJson(period),
        synced_at: now.toString({ smallestUnit: 'millisecond' }),
        currency: settings.currency,
        data: computeMetrics(db, storeId, period),
      }
      return { body: JSON.stringify(payload), revision: data_revision, metrics: payload.data }
    })())
  } catch (err) {
    recordFailure(
      db,
      storeId,
      settings,
      { frequency, period, notify },
      request.trigger,
      err,
      print,
      clock,
    )
    throw new SyncFailed(err)
  }
  const etag = etagOf(body)
  // The record and its notification commit together: a crash leaves both or neither.
  db.transaction(() => {
    db.query(
      `INSERT INTO sync_records (store_id, frequency, period_start, period_end, period_label, status,
       trigger, body, etag, error, data_revision, fingerprint, synced_at)
     VALUES (?, ?, ?, ?, ?, 'success', ?, ?, ?, NULL, ?, ?, ?)
     ON CONFLICT (store_id, frequency, period_start) DO UPDATE SET period_end = excluded.period_end,
       period_label = excluded.period_label, status = 'success', trigger = excluded.trigger,
       body = excluded.body, etag = excluded.etag, error = NULL,
       data_revision = excluded.data_revision, fingerprint = excluded.fingerprint,
       synced_at = excluded.synced_at`,
    ).run(
      storeId,
      frequency,
      start,
      period.end.epochMilliseconds,
      period.label,
      request.trigger,
      body,
      etag,
      revision,
      print,
      now.epochMilliseconds,
    )
    if (notify) {
      queueSyncNotificationOn(
        db,
        storeId,
        settings,
        { outcome: 'success', frequency, period, syncedAt: now, trigger: request.trigger, metrics },
        clock,
      )
    }
  })()
  cache.set(memoKey, { body, etag, revision })
  return { body, etag, period, frequency, computed: true }
}

/**
 * Stores a failed attempt (unless a successful record of the period already exists) and queues
 * the failure notification when the period `notify`s, in one transaction.
 */
function recordFailure(
  db: Database,
  storeId: number,
  settings: StoreSettings,
  { frequency, period, notify }: { frequency: Frequency; period: Period; notify: boolean },
  trigger: SyncTrigger,
  err: unknown,
  print: string,
  clock: Clock,
): void {
  const error = err instanceof Error ? err.message : String(err)
  const now = clock.now()
  try {
    db.transaction(() => {
      db.query(
        `INSERT INTO sync_records (store_id, frequency, period_start, period_end, period_label,
           status, trigger, error, data_revision, fingerprint, synced_at)
         VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, 0, ?, ?)
         ON CONFLICT (store_id, frequency, period_start) DO UPDATE SET trigger = excluded.trigger,
           error = excluded.error, synced_at = excluded.synced_at
         WHERE status = 'failed'`,
      ).run(
        storeId,
        frequency,
        period.start.epochMilliseconds,
        period.end.epochMilliseconds,
        period.label,
        trigger,
        error,
        print,
        now.epochMilliseconds,
      )
      if (notify) {
        queueSyncNotificationOn(
          db,
          storeId,
          settings,
          { outcome: 'failed', frequency, period, syncedAt: now, trigger, error },
          clock,
        )
      }
    })()
  } catch {
    // The database itself may be what failed; the caller still reports the failure.
  }
}

/** The headline figures of a successful sync, as its stored body says. */
interface SyncFigures {
  currency: string
  sessions: number
  visitors: number
  orders: number
  revenue: number
  conversion: number
}

/** A recorded sync, for the settings page and the CLI. */
export interface SyncRecordSummary {
  id: number
  frequency: Frequency
  periodLabel: string
  status: 'success' | 'failed'
  trigger: SyncTrigger
  error: string | null
  syncedAt: number
  /** A success's figures from its stored body; null for a failure. */
  figures: SyncFigures | null
}

/** The figures of a stored success body (null when there is none). */
function figuresOf(body: string | null): SyncFigures | null {
  if (!body) return null
  const parsed = JSON.parse(body) as SyncBody
  return {
    currency: parsed.currency,
    sessions: parsed.data.total_sessions,
    visitors: parsed.data.total_visitors,
    orders: parsed.data.successful_orders,
    revenue: parsed.data.total_revenue,
    conversion: parsed.data.conversion_rate,
  }
}

/** The most recent sync records of a store. */
export function recentSyncRecords(db: Database, storeId: number, limit = 20): SyncRecordSummary[] {
  return (
    db
      .query(
        `SELECT id, frequency, period_label, status, trigger, error, synced_at, body
         FROM sync_records WHERE store_id = ? ORDER BY synced_at DESC, id DESC LIMIT ?`,
      )
      .all(storeId, limit) as {
      id: number
      frequency: Frequency
      period_label: string
      status: 'success' | 'failed'
      trigger: SyncTrigger
      error: string | null
      synced_at: number
      body: string | null
    }[]
  ).map((r) => ({
    id: r.id,
    frequency: r.frequency,
    periodLabel: r.period_label,
    status: r.status,
    trigger: r.trigger,
    error: r.error,
    syncedAt: r.synced_at,
    figures: r.status === 'success' ? figuresOf(r.body) : null,
  }))
}
