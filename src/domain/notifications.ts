import { renderKeyExpiry } from '../../views/emails/keyExpiry.tsx'
import { renderNotification } from '../../views/emails/notification.tsx'
import type { Data, Queries } from '../db/data.ts'
import {
  type DueRow,
  insertOutboxRow,
  type NewOutboxRow,
  type OutboxKind,
  type OutboxRow,
  type OutboxStatus,
  type Outcome,
  outboxPayloadText,
  outboxRow,
  recentOutboxRows,
  syncDedupe,
} from '../db/outbox.ts'
import { formatStoreTime } from '../lib/format.ts'
import { type Clock, nowMs } from './clock.ts'
import type { KeyExpiryPayload } from './keyExpiry.ts'
import type { MailMessage } from './mailer.ts'
import type { Metrics } from './metrics.ts'
import { dayRange, type Frequency, type Period, type PeriodJson, periodJson } from './periods.ts'
import { computeReport, reportCsv, reportFilename } from './report.ts'
import { notificationRecipient, readSettings, type StoreSettings } from './settings.ts'
import { findStoreById, type Store } from './stores.ts'

export type { Outcome }

/**
 * What a notification email says; stored with the outbox row, rendered when it is sent (by
 * views/emails/notification.tsx).
 */
export interface NotificationPayload {
  outcome: Outcome
  store_name: string
  /** The store's slug: the email links to that store's settings page (absent in older rows). */
  store_slug?: string
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
 * transaction that writes the sync record (with its `q`). At most one row per (store, frequency,
 * period, outcome): a later sync of the same period queues nothing. Returns true when a row was
 * added.
 */
export async function queueSyncNotification(
  q: Queries,
  store: Store,
  settings: StoreSettings,
  sync: SyncOutcome,
  clock: Clock,
): Promise<boolean> {
  const row = notificationRow(store, settings, sync, clock)
  return row !== null && (await insertOutboxRow(q, row)) > 0
}

/** The outbox row of a finished sync, or null when the settings want no email for it. */
function notificationRow(
  store: Store,
  settings: StoreSettings,
  sync: SyncOutcome,
  clock: Clock,
): NewOutboxRow | null {
  const wanted = sync.outcome === 'success' ? settings.notify_success : settings.notify_failure
  if (!wanted) return null
  const payload: NotificationPayload = {
    outcome: sync.outcome,
    store_name: settings.store_name,
    store_slug: store.slug,
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
  return {
    storeId: store.id,
    dedupe: syncDedupe(null, sync.frequency, sync.period.start.epochMilliseconds, sync.outcome),
    frequency: sync.frequency,
    periodStart: sync.period.start.epochMilliseconds,
    outcome: sync.outcome,
    periodLabel: sync.period.label,
    recipient,
    subject: notificationSubject(sync.outcome, sync.syncedAt, settings.timezone),
    payload: JSON.stringify(payload),
    status: recipient ? 'pending' : 'unsendable',
    lastError: recipient ? null : NO_RECIPIENT,
    at: nowMs(clock),
  }
}

/** An outbox row, for the settings page and the sender. */
export interface OutboxEntry {
  id: number
  storeId: number
  kind: OutboxKind
  /** Null for a key's expiry warning. */
  frequency: Frequency | null
  periodLabel: string | null
  outcome: Outcome | null
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

function toEntry(r: OutboxRow): OutboxEntry {
  return {
    id: r.id,
    storeId: r.store_id,
    kind: r.kind,
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
export async function recentOutbox(data: Data, store: Store, limit = 20): Promise<OutboxEntry[]> {
  return (await recentOutboxRows(data, store.id, limit)).map(toEntry)
}

/** One outbox row by id, or null. */
export async function outboxEntry(data: Data, id: number): Promise<OutboxEntry | null> {
  const row = await outboxRow(data, id)
  return row ? toEntry(row) : null
}

/**
 * The email an outbox row holds, rendered now (with the current base URL): what the sender hands
 * the mailer. A sync's notification or a key's expiry warning; each kind of email the outbox
 * carries is built here.
 */
export async function outboxEmail(
  data: Data,
  row: DueRow,
  baseUrl: string,
): Promise<Omit<MailMessage, 'to'>> {
  if (row.kind === 'key_expiry') {
    const payload = await outboxPayloadText(data, row.id)
    if (payload === null) throw new Error(`Outbox row ${row.id} does not exist`)
    return renderKeyExpiry(JSON.parse(payload) as KeyExpiryPayload, baseUrl)
  }
  const payload = await outboxPayload(data, row.id)
  const email = renderNotification(payload, baseUrl)
  const csv =
    row.kind === 'sync' && payload.outcome === 'success'
      ? await periodCsvAttachment(data, row.store_id, payload.period)
      : null
  return csv ? { ...email, attachments: [csv] } : email
}

/**
 * The period's figures by day as the report API's CSV (`<slug>-<label>.csv`), when the store's
 * `notify_attach_csv` is on at send time; else null.
 */
async function periodCsvAttachment(
  data: Data,
  storeId: number,
  shown: PeriodJson,
): Promise<NonNullable<MailMessage['attachments']>[number] | null> {
  const store = await findStoreById(data, storeId)
  if (!store) return null
  const settings = await readSettings(data, store)
  if (!settings.notify_attach_csv) return null
  const [from, to = from] = shown.label.split('/')
  const period = dayRange(
    Temporal.PlainDate.from(from!),
    Temporal.PlainDate.from(to!),
    shown.timezone,
  )
  const report = await computeReport(data, store, settings, period, { dimension: 'day' })
  return {
    filename: reportFilename(store, period, 'csv'),
    content: reportCsv(report),
    contentType: 'text/csv; charset=utf-8',
  }
}

/** The stored payload of an outbox row. */
async function outboxPayload(data: Data, id: number): Promise<NotificationPayload> {
  const payload = await outboxPayloadText(data, id)
  if (payload === null) throw new Error(`Outbox row ${id} does not exist`)
  return JSON.parse(payload) as NotificationPayload
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
