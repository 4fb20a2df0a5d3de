import { DEFAULT_AUDIT_KEEP_DAYS } from '../config.ts'
import type { Data } from '../db/data.ts'
import { endSyncClaim, syncClaim, takeSyncClaim } from '../db/syncClaims.ts'
import { isSynced, type SyncKey } from '../db/syncs.ts'
import { PeriodicTask } from '../lib/periodic.ts'
import { Slots } from '../lib/slots.ts'
import { pruneAuditLog } from './audit.ts'
import { BackupJob } from './backup.ts'
import { type Clock, nowMs } from './clock.ts'
import type { DeliveryOptions } from './destinations.ts'
import { queueKeyExpiryWarnings } from './keyExpiry.ts'
import type { MailerResolver } from './mailer.ts'
import { OutboxSender, processOwner } from './outbox.ts'
import { type Frequency, type Period, periodContaining, previousPeriod } from './periods.ts'
import { readSettings, type StoreSettings } from './settings.ts'
import { listStores, type Store } from './stores.ts'
import { syncPeriod } from './sync.ts'

/** How often the scheduler looks at the clock; short ticks survive sleeps and clock jumps. */
const SCHEDULER_INTERVAL_MS = 30_000
/** How long a claim protects a sync in progress; an expired claim means its process died. */
export const CLAIM_LEASE_MS = 5 * 60_000
/** The wait before a failed scheduled sync is tried again. */
const CLAIM_RETRY_MS = 15 * 60_000
/** Scheduled attempts per period before the scheduler leaves it to the API. */
const MAX_SYNC_ATTEMPTS = 4
/** Stores handled at once: a slow store holds one slot, the others go on in the rest. */
const MAX_CONCURRENT_STORES = 4
/** How often old log entries (the audit log past its retention) are deleted. */
const MAINTENANCE_INTERVAL_MS = 3_600_000

/** The settings that decide when a store's period is due. */
export type ScheduleSettings = Pick<
  StoreSettings,
  'api_enabled' | 'timezone' | 'sync_hour' | 'sync_frequency' | 'week_start'
>

/** When the scheduler syncs a period: `sync_hour` store time on the day after it ends. */
function dueAt(period: Period, syncHour: number): Temporal.Instant {
  // An hour skipped by DST resolves to the first valid time after it ('compatible').
  return period.end
    .toPlainDate()
    .toZonedDateTime({ timeZone: period.timeZone, plainTime: new Temporal.PlainTime(syncHour) })
    .toInstant()
}

/**
 * True when the previous period (yesterday, or the previous week) is complete and the store's
 * clock has passed `sync_hour` since, with the API activated: the scheduler should have synced it.
 */
export function isDue(now: Temporal.Instant, settings: ScheduleSettings): boolean {
  if (!settings.api_enabled) return false
  const period = previousPeriod(
    now,
    settings.sync_frequency,
    settings.timezone,
    settings.week_start,
  )
  return Temporal.Instant.compare(now, dueAt(period, settings.sync_hour)) >= 0
}

/**
 * The latest period whose sync time has passed: the previous period once it is due, else the one
 * before it. Null with the API deactivated.
 */
export function duePeriod(
  now: Temporal.Instant,
  settings: ScheduleSettings,
): { frequency: Frequency; period: Period } | null {
  if (!settings.api_enabled) return null
  const { sync_frequency: frequency, timezone, week_start } = settings
  const previous = previousPeriod(now, frequency, timezone, week_start)
  if (isDue(now, settings)) return { frequency, period: previous }
  const before = previous.days[0]!.subtract({ days: 1 })
  return { frequency, period: periodContaining(before, frequency, timezone, week_start) }
}

/**
 * The next time the scheduler syncs, and which period: the first period whose sync time
 * (`dueAt`) is after `now`. The period that is due at `now` itself is being synced by the
 * current tick, so the next one is the period after it. Computed whatever `api_enabled` says
 * (the page says when it only applies once the API is activated).
 */
export function nextSync(
  now: Temporal.Instant,
  settings: ScheduleSettings,
): { at: Temporal.Instant; frequency: Frequency; period: Period } {
  const { sync_frequency: frequency, timezone, week_start } = settings
  let period = previousPeriod(now, frequency, timezone, week_start)
  let at = dueAt(period, settings.sync_hour)
  if (Temporal.Instant.compare(at, now) <= 0) {
    period = periodContaining(period.end.toPlainDate(), frequency, timezone, week_start)
    at = dueAt(period, settings.sync_hour)
  }
  return { at, frequency, period }
}

export type ClaimResult =
  /** This process may sync the period now. */
  | 'claimed'
  /** A successful sync record exists (from the scheduler, the API or the CLI). */
  | 'done'
  /** Another process holds the claim, or a failed attempt is waiting for its retry time. */
  | 'busy'
  /** Given up after MAX_SYNC_ATTEMPTS failures. */
  | 'given-up'

/** Which period of a store's: its frequency and start (epoch ms). */
export interface PeriodKey {
  frequency: Frequency
  periodStart: number
}

/**
 * Claims a period for this process inside a write transaction (SQLite: `BEGIN IMMEDIATE`), so
 * exactly one of several processes on one data directory gets it. A claim whose lease expired
 * (its process crashed) is taken over.
 */
export function claimPeriod(
  data: Data,
  store: Store,
  period: PeriodKey,
  owner: string,
  now: number,
  leaseMs = CLAIM_LEASE_MS,
): Promise<ClaimResult> {
  const key: SyncKey = { storeId: store.id, ...period }
  return data.tx(async (q): Promise<ClaimResult> => {
    if (await isSynced(q, key)) return 'done'
    const claim = await syncClaim(q, key)
    if (claim?.done_at != null) return 'done'
    if (claim && claim.lease_until > now) return 'busy'
    if (claim && claim.attempts >= MAX_SYNC_ATTEMPTS) return 'given-up'
    await takeSyncClaim(q, key, owner, now + leaseMs)
    return 'claimed'
  })
}

/** Records how a claimed sync ended: done, or failed and to be retried after CLAIM_RETRY_MS. */
async function finishClaim(
  data: Data,
  key: SyncKey,
  owner: string,
  now: number,
  error: string | null,
): Promise<void> {
  await endSyncClaim(data, key, owner, {
    doneAt: error === null ? now : null,
    leaseUntil: error === null ? now : now + CLAIM_RETRY_MS,
    error,
  })
}

/** What one tick did for one store. */
export interface TickOutcome {
  storeId: number
  frequency: Frequency
  periodLabel: string
  /** `synced`/`failed`: this tick ran the sync; otherwise why it did not. */
  result: 'synced' | 'failed' | Exclude<ClaimResult, 'claimed'>
}

export interface SchedulerOptions {
  data: Data
  clock: Clock
  owner?: string
  /**
   * Called after a sync this scheduler ran (success or failure), and after it queued a key's
   * expiry warning, e.g. to wake the sender.
   */
  onSynced?: () => void
  log?: (line: string) => void
}

/**
 * The internal timer: every tick, for each store with the API activated, syncs the latest due
 * period unless it is synced already. The first tick at start-up catches up a missed period.
 * Each store is handled on its own, in its own time zone and at its own sync hour: a store whose
 * settings cannot be read or whose sync fails is logged and left to its retry, and a slow one
 * keeps one of MAX_CONCURRENT_STORES slots while the others go on (the timer does not wait for
 * it; its next tick skips that store until it is done).
 */
export class Scheduler {
  readonly owner: string
  private readonly data: Data
  private readonly clock: Clock
  private readonly onSynced: () => void
  private readonly log: (line: string) => void
  /** The stores being handled, by id: a store is never handled twice at once. */
  private readonly inFlight = new Map<number, Promise<TickOutcome | null>>()
  private readonly slots = new Slots(MAX_CONCURRENT_STORES)
  private readonly task = new PeriodicTask(
    () => this.dispatch(),
    (err) => this.log(`Scheduler: ${err.message}\n`),
  )

  constructor(options: SchedulerOptions) {
    this.data = options.data
    this.clock = options.clock
    this.owner = options.owner ?? processOwner()
    this.onSynced = options.onSynced ?? (() => {})
    this.log = options.log ?? (() => {})
  }

  /**
   * Starts handling every store not already being handled; resolves once they are started,
   * with their outcomes to come.
   */
  private async dispatch(): Promise<Promise<TickOutcome | null>[]> {
    const started: Promise<TickOutcome | null>[] = []
    for (const store of await listStores(this.data)) {
      if (this.inFlight.has(store.id)) continue
      const run = this.slots
        .run(() => this.tickStore(store))
        .catch((err: unknown) => {
          const message = err instanceof Error ? err.message : String(err)
          this.log(`Scheduler: store "${store.slug}": ${message}\n`)
          return null
        })
        .finally(() => this.inFlight.delete(store.id))
      this.inFlight.set(store.id, run)
      started.push(run)
    }
    return started
  }

  /**
   * Looks at every store once and syncs what is due; resolves when the stores it started on are
   * done, with what it did where something was due.
   */
  async tick(): Promise<TickOutcome[]> {
    const outcomes = await Promise.all(await this.dispatch())
    return outcomes.filter((o): o is TickOutcome => o !== null)
  }

  /** One store's turn: its due period claimed and synced, or why not; null when none is due. */
  private async tickStore(store: Store): Promise<TickOutcome | null> {
    const settings = await readSettings(this.data, store)
    await this.warnOfExpiringKeys(store, settings)
    const due = duePeriod(this.clock.now(), settings)
    if (!due) return null
    const { frequency, period } = due
    const key = { frequency, periodStart: period.start.epochMilliseconds }
    const claim = await claimPeriod(this.data, store, key, this.owner, nowMs(this.clock))
    const storeId = store.id
    if (claim !== 'claimed') return { storeId, frequency, periodLabel: period.label, result: claim }
    let error: string | null = null
    try {
      await syncPeriod(
        this.data,
        store,
        { frequency, date: period.days[0], trigger: 'scheduler', strictFrequency: false },
        this.clock,
      )
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause ?? err
      error = cause instanceof Error ? cause.message : String(cause)
      this.log(`Scheduled ${frequency} sync of "${store.slug}" ${period.label} failed: ${error}\n`)
    }
    await finishClaim(this.data, { storeId, ...key }, this.owner, nowMs(this.clock), error)
    this.onSynced()
    return {
      storeId,
      frequency,
      periodLabel: period.label,
      result: error === null ? 'synced' : 'failed',
    }
  }

  /** Queues the warnings of keys about to expire; a failure is logged and leaves the sync be. */
  private async warnOfExpiringKeys(store: Store, settings: StoreSettings): Promise<void> {
    try {
      if ((await queueKeyExpiryWarnings(this.data, store, settings, this.clock)) > 0) {
        this.onSynced()
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      this.log(`Key expiry warnings of "${store.slug}": ${message}\n`)
    }
  }

  /** Ticks now (catching up a period missed while the server was down), then every interval. */
  start(intervalMs = SCHEDULER_INTERVAL_MS): void {
    this.task.start(intervalMs)
  }

  /** Stops the timer and waits for the stores being handled. */
  async stop(): Promise<void> {
    this.task.stop()
    await this.task.settled()
    await Promise.all(this.inFlight.values())
  }
}

/** The scheduler, the outbox sender and the daily backup of a running server. */
export interface BackgroundJobs {
  scheduler: Scheduler
  sender: OutboxSender
  /** Present when daily backups are on (`MIDA_BACKUP_KEEP` > 0). */
  backup: BackupJob | undefined
  /** Prunes the audit log past its retention, at start and then hourly. */
  maintenance: PeriodicTask
  /** Stops them all; waits for an email being sent and a prune of the audit log. */
  stop(): Promise<void>
}

/**
 * Starts the scheduler (its first tick catches up a missed period) and the outbox sender, which
 * is woken right after each scheduled sync. `serve` runs this; tests can too.
 */
export function startBackgroundJobs(options: {
  data: Data
  clock: Clock
  mailer: MailerResolver
  baseUrl: string
  log?: (line: string) => void
  schedulerIntervalMs?: number
  senderIntervalMs?: number
  /** Daily backups into `dataDir/backups`, keeping the newest `keep` (0: none). */
  backup?: { data: Data; dataDir: string; keep: number; intervalMs?: number }
  /** Days the audit log keeps an entry (0: forever); default 365. */
  auditKeepDays?: number
  maintenanceIntervalMs?: number
  /** How deliveries reach destinations (MIDA_ALLOW_PRIVATE_DESTINATIONS). */
  destinations?: DeliveryOptions
}): BackgroundJobs {
  const owner = processOwner()
  const sender = new OutboxSender({ ...options, owner })
  const scheduler = new Scheduler({ ...options, owner, onSynced: () => sender.wake() })
  const backup =
    options.backup && options.backup.keep > 0
      ? new BackupJob({ ...options, ...options.backup })
      : undefined
  const log = options.log ?? (() => {})
  const maintenance = new PeriodicTask(
    () =>
      pruneAuditLog(options.data, options.auditKeepDays ?? DEFAULT_AUDIT_KEEP_DAYS, options.clock),
    (err) => log(`Maintenance: ${err.message}\n`),
  )
  sender.start(options.senderIntervalMs)
  scheduler.start(options.schedulerIntervalMs)
  backup?.start(options.backup?.intervalMs)
  maintenance.start(options.maintenanceIntervalMs ?? MAINTENANCE_INTERVAL_MS)
  return {
    scheduler,
    sender,
    backup,
    maintenance,
    async stop() {
      const ticked = scheduler.stop()
      backup?.stop()
      maintenance.stop()
      // A sync in progress may still wake the sender: it stops once the tick has ended.
      await ticked
      await sender.stop()
      // A prune in progress ends before the caller closes the database.
      await maintenance.settled()
    },
  }
}
