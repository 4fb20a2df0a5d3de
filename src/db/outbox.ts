// The outbox table: notification emails queued in a sync's transaction and delivered later by
// the sender (src/domain/outbox.ts), under a lease so two processes never send one row twice.
import type { Frequency } from '../domain/periods.ts'
import type { Queries } from './data.ts'

export type Outcome = 'success' | 'failed'
export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'unsendable'

/** An outbox row as stored. */
export interface OutboxRow {
  id: number
  store_id: number
  kind: OutboxKind
  /** Null for a key's expiry warning. */
  frequency: Frequency | null
  period_label: string | null
  outcome: Outcome | null
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

/** A row the sender may take. */
export interface DueRow {
  id: number
  store_id: number
  /** Null for an email; else the destination this row is delivered to. */
  destination_id: number | null
  kind: OutboxKind
  recipient: string
  attempts: number
  created_at: number
}

/** What a row carries: a sync's outcome, a key about to expire, a destination's test. */
export type OutboxKind = 'sync' | 'key_expiry' | 'test'

/**
 * A row to queue: an email (no `destinationId`) or a delivery to a destination. At most one row
 * per (store, dedupe): `syncDedupe` for a sync's outcome.
 */
export interface NewOutboxRow {
  storeId: number
  destinationId?: number | null
  kind?: OutboxKind
  dedupe: string
  frequency: Frequency | null
  periodStart: number | null
  outcome: Outcome | null
  periodLabel: string | null
  recipient: string
  subject: string
  /** The NotificationPayload, as JSON. */
  payload: string
  status: 'pending' | 'unsendable'
  lastError: string | null
  at: number
}

const OUTBOX_COLUMNS = `id, store_id, kind, frequency, period_label, outcome, recipient, subject, status,
  attempts, last_error, smtp_response, next_attempt_at, created_at, sent_at`

const INSERT_ROW = `INSERT INTO outbox (store_id, destination_id, kind, dedupe, frequency,
    period_start, outcome, period_label, recipient, subject, payload, status, last_error,
    next_attempt_at, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (store_id, dedupe) DO NOTHING`

/** The dedupe of a sync's row: one email per outcome, one delivery per destination and outcome. */
export function syncDedupe(
  destinationId: number | null,
  frequency: Frequency,
  periodStart: number,
  outcome: Outcome,
): string {
  const target = destinationId === null ? 'email' : `destination:${destinationId}`
  return `${target}:sync:${frequency}:${periodStart}:${outcome}`
}

function insertParams(row: NewOutboxRow) {
  return [
    row.storeId,
    row.destinationId ?? null,
    row.kind ?? 'sync',
    row.dedupe,
    row.frequency,
    row.periodStart,
    row.outcome,
    row.periodLabel,
    row.recipient,
    row.subject,
    row.payload,
    row.status,
    row.lastError,
    row.at,
    row.at,
  ] as const
}

/** Queues a row unless its period already has one of that outcome; resolves to the rows added. */
export function insertOutboxRow(q: Queries, row: NewOutboxRow): Promise<number> {
  return q.run(INSERT_ROW, ...insertParams(row))
}

/** A store's most recent emails, newest first. */
export function recentOutboxRows(q: Queries, storeId: number, limit: number): Promise<OutboxRow[]> {
  return q.all<OutboxRow>(
    `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE store_id = ? AND destination_id IS NULL
     ORDER BY created_at DESC, id DESC LIMIT ?`,
    storeId,
    limit,
  )
}

/** One row by id, or null. */
export function outboxRow(q: Queries, id: number): Promise<OutboxRow | null> {
  return q.get<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = ?`, id)
}

/** True when the store's outbox holds a row of this dedupe (queued, sent or given up). */
export async function outboxHasDedupe(
  q: Queries,
  storeId: number,
  dedupe: string,
): Promise<boolean> {
  const row = await q.get<{ one: number }>(
    'SELECT 1 AS one FROM outbox WHERE store_id = ? AND dedupe = ?',
    storeId,
    dedupe,
  )
  return row !== null
}

/** The stored payload (JSON) of a row, or null when there is no such row. */
export async function outboxPayloadText(q: Queries, id: number): Promise<string | null> {
  return (
    (await q.get<{ payload: string }>('SELECT payload FROM outbox WHERE id = ?', id))?.payload ??
    null
  )
}

/** True when a pending row is due now, or old enough to be given up: a plain read, no lock. */
export async function hasOutboxWork(
  q: Queries,
  now: number,
  giveUpBefore: number,
): Promise<boolean> {
  const row = await q.get(
    `SELECT 1 FROM outbox WHERE status = 'pending'
       AND (next_attempt_at <= ? OR created_at <= ?) LIMIT 1`,
    now,
    giveUpBefore,
  )
  return row !== null
}

/** Gives up the pending rows queued before `giveUpBefore` that no sender holds; returns them. */
export function expireOutboxRows(
  q: Queries,
  giveUpBefore: number,
  now: number,
): Promise<Pick<DueRow, 'id' | 'store_id' | 'destination_id'>[]> {
  return q.all(
    `UPDATE outbox SET status = 'failed', lease_owner = NULL, lease_until = NULL,
       last_error = coalesce(last_error, 'Not delivered within 24 hours')
     WHERE status = 'pending' AND created_at <= ? AND coalesce(lease_until, 0) <= ?
     RETURNING id, store_id, destination_id`,
    giveUpBefore,
    now,
  )
}

/**
 * Leases to `owner`, until `until`, the due rows no sender holds (at most `limit`, oldest due
 * first), in one statement: two senders never take one row, and no lock is held across awaits.
 */
export async function leaseDueOutboxRows(
  q: Queries,
  owner: string,
  now: number,
  until: number,
  limit: number,
): Promise<DueRow[]> {
  const rows = await q.all<DueRow & { next_attempt_at: number }>(
    `UPDATE outbox SET lease_owner = ?, lease_until = ?
     WHERE id IN (
       SELECT id FROM outbox
       WHERE status = 'pending' AND next_attempt_at <= ? AND coalesce(lease_until, 0) <= ?
       ORDER BY next_attempt_at, id LIMIT ?)
     RETURNING id, store_id, destination_id, kind, recipient, attempts, created_at,
       next_attempt_at`,
    owner,
    until,
    now,
    now,
    limit,
  )
  // RETURNING gives no order.
  rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id)
  return rows.map(({ next_attempt_at: _, ...row }) => row)
}

/**
 * Extends `owner`'s lease of a pending row to `until`; resolves to 0 (send nothing) when the row
 * is no longer `owner`'s: its lease ran out and another sender took it, or sent it, meanwhile.
 */
export function renewOutboxLease(
  q: Queries,
  id: number,
  owner: string,
  until: number,
): Promise<number> {
  return q.run(
    `UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'pending'`,
    until,
    id,
    owner,
  )
}

/** Leaves a leased row pending with why it was not sent, and releases it. */
export function releaseOutboxRow(
  q: Queries,
  id: number,
  owner: string,
  lastError: string,
): Promise<number> {
  return q.run(
    `UPDATE outbox SET last_error = ?, lease_owner = NULL, lease_until = NULL
     WHERE id = ? AND lease_owner = ?`,
    lastError,
    id,
    owner,
  )
}

/** Records a delivered row with the server's answer, and releases it. */
export function markOutboxSent(
  q: Queries,
  id: number,
  owner: string,
  sentAt: number,
  smtpResponse: string,
): Promise<number> {
  return q.run(
    `UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?,
       smtp_response = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL
     WHERE id = ? AND lease_owner = ?`,
    sentAt,
    smtpResponse,
    id,
    owner,
  )
}

/** Records a failed attempt: retried at `nextAttemptAt` (pending) or given up (failed). */
export function markOutboxFailed(
  q: Queries,
  id: number,
  owner: string,
  failure: { status: 'pending' | 'failed'; attempts: number; error: string; nextAttemptAt: number },
): Promise<number> {
  return q.run(
    `UPDATE outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,
       lease_owner = NULL, lease_until = NULL
     WHERE id = ? AND lease_owner = ?`,
    failure.status,
    failure.attempts,
    failure.error,
    failure.nextAttemptAt,
    id,
    owner,
  )
}

/** A destination's most recent deliveries (its tests included), newest first. */
export function recentDeliveryRows(
  q: Queries,
  storeId: number,
  destinationId: number,
  limit: number,
): Promise<OutboxRow[]> {
  return q.all<OutboxRow>(
    `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE store_id = ? AND destination_id = ?
     ORDER BY created_at DESC, id DESC LIMIT ?`,
    storeId,
    destinationId,
    limit,
  )
}

/**
 * Records a delivery made at once (a destination's test) before it is made, so its id can name
 * it: pending, but never due (`next_attempt_at` at the end of time), so no sender takes it.
 * Resolves to its id; `finishImmediateDelivery` records how it went.
 */
export async function insertImmediateDelivery(q: Queries, row: NewOutboxRow): Promise<number> {
  const [storeId, destinationId, kind, dedupe, ...rest] = insertParams(row)
  const inserted = await q.get<{ id: number }>(
    `INSERT INTO outbox (store_id, destination_id, kind, dedupe, frequency, period_start,
       outcome, period_label, recipient, subject, payload, status, last_error, created_at,
       next_attempt_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    storeId,
    destinationId,
    kind,
    dedupe,
    ...rest.slice(0, -1),
    Number.MAX_SAFE_INTEGER,
  )
  if (!inserted) throw new Error('The delivery was not recorded')
  return inserted.id
}

/** Records the end of a delivery made at once: sent (with the answer) or failed (with why). */
export function finishImmediateDelivery(
  q: Queries,
  id: number,
  result: { status: 'sent' | 'failed'; answer: string; at: number },
): Promise<number> {
  const sent = result.status === 'sent'
  return q.run(
    `UPDATE outbox SET status = ?, attempts = 1, sent_at = ?, smtp_response = ?, last_error = ?,
       next_attempt_at = ?
     WHERE id = ? AND status = 'pending'`,
    result.status,
    sent ? result.at : null,
    sent ? result.answer : null,
    sent ? null : result.answer,
    result.at,
    id,
  )
}
