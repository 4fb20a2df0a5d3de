import type { Database } from '../db/database.ts'
import { formatStoreTime } from '../lib/format.ts'
import { type Clock, nowMs } from './clock.ts'
import type { Metrics } from './metrics.ts'
import { type Frequency, type Period, type PeriodJson, periodJson } from './periods.ts'
import { notificationRecipient, type StoreSettings } from './settings.ts'

export type Outcome = 'success' | 'failed'
type OutboxStatus = 'pending' | 'sent' | 'failed' | 'unsendable'

/**
 * What a notification email says; stored with the outbox row, rendered when it is sent (by
 * views/emails/notification.tsx).
 */
export interface NotificationPayload {
  outcome: Outcome
  store_name: string
  frequency: Frequency
  period: PeriodJson
  /** The instant of the sync, ISO 8601 UTC. */
  synced_at: string
  trigger: string
  currency: string
  /** The headline figures of a success. */
  figures?: {
    total_visitors: number
    total_sessions: number
    successful_orders: number
    total_revenue: number
  }
  /** What went wrong, for a failure. */
  error?: string
}

/** Why a row cannot be sent without the admin acting. */
export const NO_RECIPIENT =
  'No recipient: set a notification recipient or the store email in the settings'
export const NO_SMTP = 'No SMTP server configured'

/** `[Analytics Sync] Success - 2026-11-26 01:00`, in store time of the sync. */
export function notificationSubject(
  outcome: Outcome,
  syncedAt: Temporal.Instant,
  timeZone: string,
): string {
  const word = outcome === 'success' ? 'Success' : 'Failed'
  return `[Analytics Sync] ${word} - ${formatStoreTime(syncedAt, timeZone)}`
}

/** A finished sync, as the notification sees it. */
export interface SyncOutcome {
  outcome: Outcome
  frequency: Frequency
  period: Period
  syncedAt: Temporal.Instant
  trigger: string
  metrics?: Metrics
  error?: string
}

/**
 * Queues the notification of a finished sync when the settings ask for it; call it inside the
 * transaction that writes the sync record. At most one row per (store, frequency, period,
 * outcome): a later sync of the same period queues nothing. Returns true when a row was added.
 */
export function queueSyncNotification(
  db: Database,
  storeId: number,
  settings: StoreSettings,
  sync: SyncOutcome,
  clock: Clock,
): boolean {
  const wanted = sync.outcome === 'success' ? settings.notify_success : settings.notify_failure
  if (!wanted) return false
  const payload: NotificationPayload = {
    outcome: sync.outcome,
    store_name: settings.store_name,
    frequency: sync.frequency,
    period: periodJson(sync.period),
    synced_at: sync.syncedAt.toString({ smallestUnit: 'millisecond' }),
    trigger: sync.trigger,
    currency: settings.currency,
  }
  if (sync.metrics) {
    payload.figures = {
      total_visitors: sync.metrics.total_visitors,
      total_sessions: sync.metrics.total_sessions,
      successful_orders: sync.metrics.successful_orders,
      total_revenue: sync.metrics.total_revenue,
    }
  }
  if (sync.error !== undefined) payload.error = sync.error
  const recipient = notificationRecipient(settings)
  const at = nowMs(clock)
  const result = db
    .query(
      `INSERT INTO outbox (store_id, frequency, period_start, outcome, period_label, recipient,
         subject, payload, status, last_error, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (store_id, frequency, period_start, outcome) DO NOTHING`,
    )
    .run(
      storeId,
      sync.frequency,
      sync.period.start.epochMilliseconds,
      sync.outcome,
      sync.period.label,
      recipient,
      notificationSubject(sync.outcome, sync.syncedAt, settings.timezone),
      JSON.stringify(payload),
      recipient ? 'pending' : 'unsendable',
      recipient ? null : NO_RECIPIENT,
      at,
      at,
    )
  return result.changes > 0
}

/** An outbox row, for the settings page and the sender. */
export interface OutboxEntry {
  id: number
  storeId: number
  frequency: Frequency
  periodLabel: string
  outcome: Outcome
  recipient: string
  subject: string
  status: OutboxStatus
  attempts: number
  lastError: string | null
  smtpResponse: string | null
  nextAttemptAt: number
  createdAt: number
  sentAt: number | null
}

interface OutboxRow {
  id: number
  store_id: number
  frequency: Frequency
  period_label: string
  outcome: Outcome
  recipient: string
  subject: string
  status: OutboxStatus
  attempts: number
  last_error: string | null
  smtp_response: string | null
  next_attempt_at: number
  created_at: number
  sent_at: number | null
}

const OUTBOX_COLUMNS = `id, store_id, frequency, period_label, outcome, recipient, subject, status,
  attempts, last_error, smtp_response, next_attempt_at, created_at, sent_at`

function toEntry(r: OutboxRow): OutboxEntry {
  return {
    id: r.id,
    storeId: r.store_id,
    frequency: r.frequency,
    periodLabel: r.period_label,
    outcome: r.outcome,
    recipient: r.recipient,
    subject: r.subject,
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error,
    smtpResponse: r.smtp_response,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  }
}

/** The most recent notification emails of a store, newest first. */
export function recentOutbox(db: Database, storeId: number, limit = 20): OutboxEntry[] {
  const rows = db
    .query(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE store_id = ? ORDER BY created_at DESC, id DESC
       LIMIT ?`,
    )
    .all(storeId, limit) as OutboxRow[]
  return rows.map(toEntry)
}

/** One outbox row by id, or null. */
export function outboxEntry(db: Database, id: number): OutboxEntry | null {
  const row = db
    .query(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = ?`)
    .get(id) as OutboxRow | null
  return row ? toEntry(row) : null
}

/** The stored payload of an outbox row. */
export function outboxPayload(db: Database, id: number): NotificationPayload {
  const row = db.query('SELECT payload FROM outbox WHERE id = ?').get(id) as {
    payload: string
  } | null
  if (!row) throw new Error(`Outbox row ${id} does not exist`)
  return JSON.parse(row.payload) as NotificationPayload
}

/** How the settings page names a row's state; a pending row without SMTP is "not sendable". */
export function outboxStatusLabel(entry: OutboxEntry, smtpConfigured: boolean): string {
  switch (entry.status) {
    case 'sent':
      return 'sent'
    case 'failed':
      return 'failed'
    case 'unsendable':
      return 'not sendable'
    case 'pending':
      return smtpConfigured ? (entry.attempts > 0 ? 'retrying' : 'queued') : 'not sendable'
  }
}
