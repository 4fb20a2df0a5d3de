import { createHash } from 'node:crypto'
import type { Data, Queries } from '../db/data.ts'
import { dataRevision as storedRevision } from '../db/revisions.ts'
import {
  latestChange,
  recentSyncRecordRows,
  type SyncRecordWrite,
  saveSyncFailure,
  saveSyncSuccess,
  storedSync,
} from '../db/syncs.ts'
import type { Clock } from './clock.ts'
import { queueSyncDeliveries } from './destinations.ts'
import { AppError, Conflict, InvalidInput } from './errors.ts'
import { type Metrics, metricsOf } from './metrics.ts'
import { queueSyncNotification, type SyncOutcome } from './notifications.ts'
import {
  type Frequency,
  isComplete,
  type Period,
  type PeriodJson,
  periodContaining,
  periodJson,
  previousPeriod,
} from './periods.ts'
import { type Comparison, comparisonPeriod } from './report.ts'
import { cachedRevision, currentRevision } from './revisions.ts'
import { cachedSettings, readSettings, type StoreSettings } from './settings.ts'
import type { Store } from './stores.ts'

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
async function isStale(
  q: Queries,
  storeId: number,
  period: Period,
  revision: number,
): Promise<boolean> {
  const latest = await latestChange(
    q,
    storeId,
    Math.floor(period.start.epochMilliseconds / HOUR_MS),
    Math.ceil(period.end.epochMilliseconds / HOUR_MS),
  )
  return latest !== null && latest > revision
}

/** A period resolved for a store: which sync, and the memo key of its checked body. */
interface Resolved {
  settings: StoreSettings
  now: Temporal.Instant
  frequency: Frequency
  period: Period
  print: string
  memoKey: string
}

function resolve(
  settings: StoreSettings,
  store: Store,
  request: SyncRequest,
  clock: Clock,
): Resolved {
  const now = clock.now()
  const { frequency, period } = resolvePeriod(settings, request, now)
  const print = fingerprint(settings)
  const memoKey = `sync:${store.id}:${frequency}:${period.start.epochMilliseconds}:${print}`
  return { settings, now, frequency, period, print, memoKey }
}

/** The body this process checked against the store's current revision `revision`, if it has one. */
function checkedBody(data: Data, r: Resolved, revision: number | undefined): SyncResult | null {
  const memo = data.cache.peek<CheckedBody>(r.memoKey)
  if (!memo || revision === undefined || memo.revision !== revision) return null
  return {
    body: memo.body,
    etag: memo.etag,
    period: r.period,
    frequency: r.frequency,
    computed: false,
  }
}

/**
 * The sync of one period when this process has its body checked against the store's current
 * data revision (the hot path of the API: no statement beyond the cached reads), else null. Throws
 * what `syncPeriod` throws for a bad request.
 */
export function currentSync(
  data: Data,
  store: Store,
  request: SyncRequest,
  clock: Clock,
): SyncResult | null {
  const settings = cachedSettings(data, store)
  if (!settings) return null
  return checkedBody(data, resolve(settings, store, request, clock), cachedRevision(data, store))
}

/**
 * Returns the sync of one period: the stored record when it is still current, otherwise
 * computed now and stored. A failure is recorded and raised as SyncFailed.
 */
export async function syncPeriod(
  data: Data,
  store: Store,
  request: SyncRequest,
  clock: Clock,
): Promise<SyncResult> {
  const settings = cachedSettings(data, store) ?? (await readSettings(data, store))
  const resolved = resolve(settings, store, request, clock)
  const current = await currentRevision(data, store)
  // Hot path: a body already checked against this store revision is still current.
  const checked = checkedBody(data, resolved, current)
  if (checked) return checked
  const { now, frequency, period, print, memoKey } = resolved
  const notify = notifiesFor(settings, request.trigger, frequency, period, now)
  const cache = data.cache
  const key = { storeId: store.id, frequency, periodStart: period.start.epochMilliseconds }

  const stored = await storedSync(data, key)
  if (
    stored?.status === 'success' &&
    stored.body !== null &&
    stored.etag !== null &&
    stored.fingerprint === print &&
    !(await isStale(data, store.id, period, stored.data_revision))
  ) {
    cache.set(memoKey, { body: stored.body, etag: stored.etag, revision: current })
    return { body: stored.body, etag: stored.etag, period, frequency, computed: false }
  }

  const record: SyncRecordWrite = {
    ...key,
    periodEnd: period.end.epochMilliseconds,
    periodLabel: period.label,
    trigger: request.trigger,
    fingerprint: print,
    syncedAt: now.epochMilliseconds,
  }
  let body: string
  let revision: number
  let metrics: Metrics
  try {
    // One read transaction: the revision and the figures come from the same snapshot.
    ;({ body, revision, metrics } = await data.tx(
      async (q) => {
        // Inside the transaction the read cache stands aside: this is the snapshot's revision.
        const data_revision = await storedRevision(q, store)
        const payload: SyncBody = {
          success: true,
          message: 'Sync successful',
          frequency,
          period: periodJson(period),
          synced_at: now.toString({ smallestUnit: 'millisecond' }),
          currency: settings.currency,
          data: await metricsOf(q, store, period),
        }
        return { body: JSON.stringify(payload), revision: data_revision, metrics: payload.data }
      },
      { readOnly: true },
    ))
  } catch (err) {
    await recordFailure(data, store, settings, { record, period, notify }, err, clock)
    throw new SyncFailed(err)
  }
  const etag = etagOf(body)
  // The record and its notification commit together: a crash leaves both or neither.
  await data.tx(async (q) => {
    await saveSyncSuccess(q, { ...record, body, etag, dataRevision: revision })
    if (notify) {
      const outcome: SyncOutcome = {
        outcome: 'success',
        frequency,
        period,
        syncedAt: now,
        trigger: request.trigger,
        metrics,
      }
      await queueSyncNotification(q, store, settings, outcome, clock)
      await queueSyncDeliveries(q, store, settings, outcome, clock, body)
    }
  })
  cache.set(memoKey, { body, etag, revision })
  return { body, etag, period, frequency, computed: true }
}

/**
 * A sync's body with `"comparison":{"period","data"}` appended: the sync of the period before
 * (the previous day or week) or of the same weekdays 364 days earlier, of the same frequency,
 * through `syncPeriod` (stored like any sync; an older period, so a backfill: no email). The
 * body's own bytes stay as they are without `compare`; the ETag is the answered body's.
 */
export async function withComparison(
  data: Data,
  store: Store,
  result: SyncResult,
  compare: Comparison,
  clock: Clock,
): Promise<SyncResult> {
  const previous = comparisonPeriod(result.period, compare)
  const before = await syncPeriod(
    data,
    store,
    { frequency: result.frequency, date: previous.days[0], trigger: 'api', strictFrequency: false },
    clock,
  )
  const { period, data: metrics } = JSON.parse(before.body) as SyncBody
  const body = `${result.body.slice(0, -1)},"comparison":${JSON.stringify({ period, data: metrics })}}`
  return { ...result, body, etag: etagOf(body) }
}

/**
 * Stores a failed attempt (unless a successful record of the period already exists) and queues
 * the failure notification when the period `notify`s, in one transaction.
 */
async function recordFailure(
  data: Data,
  store: Store,
  settings: StoreSettings,
  { record, period, notify }: { record: SyncRecordWrite; period: Period; notify: boolean },
  err: unknown,
  clock: Clock,
): Promise<void> {
  const error = err instanceof Error ? err.message : String(err)
  const now = clock.now()
  try {
    await data.tx(async (q) => {
      await saveSyncFailure(q, { ...record, error, syncedAt: now.epochMilliseconds })
      if (notify) {
        const outcome: SyncOutcome = {
          outcome: 'failed',
          frequency: record.frequency,
          period,
          syncedAt: now,
          trigger: record.trigger,
          error,
        }
        await queueSyncNotification(q, store, settings, outcome, clock)
        await queueSyncDeliveries(q, store, settings, outcome, clock)
      }
    })
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
export async function recentSyncRecords(
  data: Data,
  store: Store,
  limit = 20,
): Promise<SyncRecordSummary[]> {
  return (await recentSyncRecordRows(data, store.id, limit)).map((r) => ({
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
