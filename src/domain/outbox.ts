import { hostname } from 'node:os'
import type { Data } from '../db/data.ts'
import {
  type DueRow,
  expireOutboxRows,
  hasOutboxWork,
  leaseDueOutboxRows,
  markOutboxFailed,
  markOutboxSent,
  releaseOutboxRow,
  renewOutboxLease,
} from '../db/outbox.ts'
import { PeriodicTask } from '../lib/periodic.ts'
import { randomBase62 } from '../lib/random.ts'
import { type Clock, nowMs } from './clock.ts'
import { type DeliveryOptions, deliverOutboxRow, describeDestination } from './destinations.ts'
import type { MailerResolver } from './mailer.ts'
import { NO_SMTP, outboxEmail } from './notifications.ts'
import { findStoreById } from './stores.ts'

/** The first retry comes this long after a failure; each next one waits twice as long. */
const FIRST_RETRY_MS = 10_000
/** The longest wait between two attempts. */
const MAX_RETRY_MS = 10 * 60_000
/** An email not delivered this long after it was queued is given up and shown as failed. */
const GIVE_UP_AFTER_MS = 24 * 3_600_000
/** How long a sender holds a row it is sending; an expired lease means the sender died. */
const SEND_LEASE_MS = 2 * 60_000
/** How often the loop looks for due emails; with FIRST_RETRY_MS the first retry is within 15 s. */
const SENDER_INTERVAL_MS = 5_000

/** The wait before the next attempt after `attempts` failed ones: 10 s, 20 s, 40 s … 10 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS)
}

/** A unique name for this process, written into the leases it takes. */
export function processOwner(): string {
  return `${hostname()}:${process.pid}:${randomBase62(6)}`
}

export interface SenderOptions {
  data: Data
  clock: Clock
  mailer: MailerResolver
  baseUrl: string
  owner?: string
  /** How many due emails one run takes at most. */
  batch?: number
  log?: (line: string) => void
  /** How deliveries reach destinations (MIDA_ALLOW_PRIVATE_DESTINATIONS); default: public only. */
  destinations?: DeliveryOptions
}

/** What one run of the sender did. */
export interface SendReport {
  sent: number
  failed: number
  /** Rows left waiting because no SMTP server is configured. */
  unsendable: number
  /** Rows given up (24 hours without delivery). */
  expired: number
}

/** Why an email was not tried in a run: one of its store's failed first (tried at the next run). */
const ANOTHER_FAILED = "not tried yet: this store's SMTP server failed an earlier email of this run"
/** Why a delivery was not tried in a run: its destination failed an earlier one of the run. */
const DESTINATION_FAILED = 'not tried yet: this destination failed an earlier delivery of this run'

/**
 * Delivers the outbox: takes due rows under a lease (so two processes never send one twice),
 * sends each through the store's mailer, and records the answer or schedules a retry.
 */
export class OutboxSender {
  readonly owner: string
  private readonly data: Data
  private readonly clock: Clock
  private readonly mailer: MailerResolver
  private readonly baseUrl: string
  private readonly batch: number
  private readonly log: (line: string) => void
  private readonly destinations: DeliveryOptions
  private readonly task = new PeriodicTask(
    () => this.runLogged(),
    (err) => this.logError(err),
  )
  private running: Promise<SendReport> | undefined
  private again = false

  constructor(options: SenderOptions) {
    this.data = options.data
    this.clock = options.clock
    this.mailer = options.mailer
    this.baseUrl = options.baseUrl
    this.owner = options.owner ?? processOwner()
    this.batch = options.batch ?? 20
    this.log = options.log ?? (() => {})
    this.destinations = options.destinations ?? { allowPrivate: false }
  }

  /**
   * Gives up rows that waited too long, then leases the due ones to this sender: two statements,
   * each whole on its own, so no transaction stays open while another sender waits.
   */
  private async take(now: number): Promise<{ rows: DueRow[]; expired: number }> {
    const expired = await expireOutboxRows(this.data, now - GIVE_UP_AFTER_MS, now)
    // A delivery given up here (never tried within the 24 hours, e.g. the server was down) is
    // logged as one given up after a failed attempt is; an email shows on the settings page.
    for (const row of expired) {
      if (row.destination_id === null) continue
      await this.logDelivery(row, row.destination_id, 'not delivered within 24 hours; given up')
    }
    const rows = await leaseDueOutboxRows(
      this.data,
      this.owner,
      now,
      now + SEND_LEASE_MS,
      this.batch,
    )
    return { rows, expired: expired.length }
  }

  /** Sends every due email once; safe to call at any time (runs never overlap). */
  runOnce(): Promise<SendReport> {
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = this.run().finally(() => {
      this.running = undefined
      if (this.again) {
        this.again = false
        void this.runOnce()
      }
    })
    return this.running
  }

  private async run(): Promise<SendReport> {
    const report: SendReport = { sent: 0, failed: 0, unsendable: 0, expired: 0 }
    const now = nowMs(this.clock)
    // A plain read first: an idle outbox costs no write lock.
    if (!(await hasOutboxWork(this.data, now, now - GIVE_UP_AFTER_MS))) return report
    const { rows, expired } = await this.take(now)
    report.expired = expired
    // Each store's emails go one after the other through its own SMTP server, and each of its
    // destinations' deliveries one after the other to that destination; the stores and the
    // channels go at once, so one slow or failing server does not hold back another in this run.
    const byChannel = Map.groupBy(rows, (row) => `${row.store_id}:${row.destination_id ?? 'email'}`)
    const channels = [...byChannel.values()]
    // Settled, not all: a channel whose rows the database refuses ends its own rows only (they
    // are retried once their lease runs out); the run still waits for the others' sends.
    const ends = await Promise.allSettled(
      channels.map(async (mine) => {
        // After a failure, this channel's other rows wait for the next run: a server that does
        // not answer costs the run one timeout, not one per row, and the rows of the other
        // channels that fall due meanwhile wait for that run at most.
        let failed = false
        for (const row of mine) {
          const why = row.destination_id === null ? ANOTHER_FAILED : DESTINATION_FAILED
          if (failed) await releaseOutboxRow(this.data, row.id, this.owner, why)
          else failed = (await this.send(row, report)) === 'failed'
        }
      }),
    )
    for (const [i, mine] of channels.entries()) {
      const end = ends[i]
      const storeId = mine[0]?.store_id
      if (end?.status === 'rejected' && storeId !== undefined) {
        await this.logStoreFailure(storeId, end.reason)
      }
    }
    return report
  }

  /** Sends one leased email through its store's mailer and records how it went. */
  private async send(row: DueRow, report: SendReport): Promise<'sent' | 'failed' | 'skipped'> {
    // The batch's lease can run out while the rows before this one are sent (a slow server:
    // a send may take a minute, SEND_TIMEOUT_MS in mailer.ts): renewed for this send, unless
    // another sender has taken the row over meanwhile (that one sends it).
    const until = nowMs(this.clock) + SEND_LEASE_MS
    if ((await renewOutboxLease(this.data, row.id, this.owner, until)) === 0) return 'skipped'
    if (row.destination_id !== null) return this.deliver(row, row.destination_id, report)
    const mailer = await this.mailer(row.store_id)
    if (!mailer) {
      // Stays pending: it goes out once SMTP is configured (within the 24 hours).
      await releaseOutboxRow(this.data, row.id, this.owner, NO_SMTP)
      report.unsendable++
      return 'skipped'
    }
    try {
      const email = await outboxEmail(this.data, row, this.baseUrl)
      const receipt = await mailer.send({ to: row.recipient, ...email })
      await markOutboxSent(this.data, row.id, this.owner, nowMs(this.clock), receipt.response)
      report.sent++
      return 'sent'
    } catch (err) {
      const { message, attempts, giveUp } = await this.recordFailure(row, err)
      this.log(
        `Notification email ${row.id} not sent (attempt ${attempts}): ${message}${giveUp ? '; given up' : ''}\n`,
      )
      report.failed++
      return 'failed'
    }
  }

  /** Delivers one leased row to its destination and records how it went. */
  private async deliver(
    row: DueRow,
    destinationId: number,
    report: SendReport,
  ): Promise<'sent' | 'failed'> {
    try {
      const answer = await deliverOutboxRow(this.data, row, this.clock, this.destinations)
      await markOutboxSent(this.data, row.id, this.owner, nowMs(this.clock), answer)
      report.sent++
      return 'sent'
    } catch (err) {
      const { message, attempts, giveUp } = await this.recordFailure(row, err)
      const what = `failed (attempt ${attempts}): ${message}${giveUp ? '; given up' : ''}`
      await this.logDelivery(row, destinationId, what)
      report.failed++
      return 'failed'
    }
  }

  /** Logs what became of a delivery, naming its destination and store, never its URL. */
  private async logDelivery(
    row: Pick<DueRow, 'id' | 'store_id'>,
    destinationId: number,
    what: string,
  ): Promise<void> {
    const where = await describeDestination(this.data, row.store_id, destinationId)
    const store = await this.storeName(row.store_id)
    this.log(`Delivery ${row.id} to destination ${where} of store ${store} ${what}\n`)
  }

  /** A store as log lines name it: its slug, or its id when it cannot be read. */
  private async storeName(storeId: number): Promise<string> {
    const store = await findStoreById(this.data, storeId).catch(() => null)
    return store ? `"${store.slug}"` : String(storeId)
  }

  /** Records a failed attempt: retried after the backoff, or given up past 24 hours. */
  private async recordFailure(
    row: DueRow,
    err: unknown,
  ): Promise<{ message: string; attempts: number; giveUp: boolean }> {
    const message = err instanceof Error ? err.message : String(err)
    const now = nowMs(this.clock)
    const attempts = row.attempts + 1
    const next = now + retryDelayMs(attempts)
    const giveUp = next > row.created_at + GIVE_UP_AFTER_MS
    await markOutboxFailed(this.data, row.id, this.owner, {
      status: giveUp ? 'failed' : 'pending',
      attempts,
      error: message,
      nextAttemptAt: next,
    })
    return { message, attempts, giveUp }
  }

  /** Logs why a store's emails stopped, naming the store by its slug (its id if unreadable). */
  private async logStoreFailure(storeId: number, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err)
    this.log(`Outbox sender: store ${await this.storeName(storeId)}: ${message}\n`)
  }

  /** Asks for a run soon, e.g. right after a sync queued an email. */
  wake(): void {
    if (this.task.started) setTimeout(() => this.runLogged(), 0)
  }

  private runLogged(): void {
    this.runOnce().catch((err) => this.logError(err as Error))
  }

  private logError(err: Error): void {
    this.log(`Outbox sender: ${err.message}\n`)
  }

  /** Runs now, then every SENDER_INTERVAL_MS until stopped. */
  start(intervalMs = SENDER_INTERVAL_MS): void {
    this.task.start(intervalMs)
  }

  /** Stops the loop and waits for a send in progress to finish. */
  async stop(): Promise<void> {
    this.task.stop()
    this.again = false
    await this.running?.catch(() => {})
  }
}
