// ENGINE-SPECIFIC (PostgreSQL): the ingest engine's writers (src/db/ingest.ts). A batch of
// sessions is a handful of set statements over `unnest` arrays, whatever its size: the rows
// already stored (one read), one upsert, the visitors' spans (one upsert), the changed hours (one
// upsert). Each batch first raises the store's data revision, which locks the store's row: the
// session writers of one store (any node, the tracker or an import) run one after the other, as
// on SQLite, and a visitor's latest session read by the tracker is current.
import type { SQL } from 'bun'
import type { OrderRecord, SessionRecord } from '../../domain/records.ts'
import type {
  BulkLoadWriter,
  CallLogBatch,
  IngestEngine,
  StoredSpan,
  TrackerBatch,
  WriteCount,
} from '../ingest.ts'
import { writeOrders } from '../orders.ts'
import { PRUNE_CALL_LOG_SQL } from '../requestLog.ts'
import { hoursOf, NEXT_REVISION_SQL, revisionKey } from '../revisions.ts'
import type { SessionRow } from '../sessions.ts'
import { sessionFromRow } from '../sessions.ts'
import type { OpenSessions } from '../sqlite/trackerBatch.ts'
import { type PgData, pgRows, toDollarParams } from './data.ts'

type Tx = Bun.TransactionSQL

/**
 * Raises the store's revision (locking its row until the transaction ends); returns it, or null
 * when the store does not exist (deleted meanwhile).
 */
async function nextRevision(tx: Tx, storeId: number): Promise<number | null> {
  const [row] = await pgRows<{ data_revision: number }>(tx, NEXT_REVISION_SQL, [storeId])
  return row?.data_revision ?? null
}

const UPSERT_SESSIONS = `INSERT INTO sessions (store_id, id, visitor_id, started_at, ended_at,
    pageviews, device, source, landing_page, viewed_product, added_to_cart, reached_checkout,
    updated_at)
  SELECT $1, * , $13::int8 FROM unnest($2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[],
    $7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::int8[])
  ON CONFLICT (store_id, id) DO UPDATE SET visitor_id = excluded.visitor_id,
    started_at = excluded.started_at, ended_at = excluded.ended_at, pageviews = excluded.pageviews,
    device = excluded.device, source = excluded.source, landing_page = excluded.landing_page,
    viewed_product = excluded.viewed_product, added_to_cart = excluded.added_to_cart,
    reached_checkout = excluded.reached_checkout, updated_at = excluded.updated_at`

/**
 * Upserts sessions inside `tx`, whose store revision is `revision`; counts as SQLite's writer
 * does, session by session in order (a session given twice: the later one wins, counted updated).
 */
async function upsertSessions(
  tx: Tx,
  storeId: number,
  sessions: SessionRecord[],
  at: number,
  revision: number,
  stored?: ReadonlyMap<string, StoredSpan>,
  /** Every session not in `stored` is new (the tracker's fresh ids): no read for them. */
  othersNew = false,
): Promise<WriteCount> {
  if (sessions.length === 0) return { inserted: 0, updated: 0 }
  const before = new Map<string, StoredSpan>(stored)
  const unknown = othersNew
    ? []
    : [...new Set(sessions.map((s) => s.id))].filter((id) => !before.has(id))
  if (unknown.length > 0) {
    const rows = await pgRows<StoredSpan & { id: string }>(
      tx,
      'SELECT id, started_at, ended_at, visitor_id FROM sessions WHERE store_id = $1 AND id = ANY($2::text[])',
      [storeId, unknown],
    )
    for (const { id, ...span } of rows) before.set(id, span)
  }
  let inserted = 0
  let updated = 0
  const touched: number[] = []
  const respanned = new Set<string>()
  const last = new Map<string, SessionRecord>()
  const spans = new Map<string, [number, number]>()
  for (const s of sessions) {
    const old = before.get(s.id)
    if (!old) inserted++
    else {
      updated++
      touched.push(old.started_at)
      if (
        old.visitor_id !== s.visitor_id ||
        s.started_at > old.started_at ||
        s.ended_at < old.ended_at
      )
        respanned.add(old.visitor_id).add(s.visitor_id)
    }
    before.set(s.id, { started_at: s.started_at, ended_at: s.ended_at, visitor_id: s.visitor_id })
    touched.push(s.started_at)
    last.delete(s.id)
    last.set(s.id, s)
    const span = spans.get(s.visitor_id)
    if (!span) spans.set(s.visitor_id, [s.started_at, s.ended_at])
    else {
      if (s.started_at < span[0]) span[0] = s.started_at
      if (s.ended_at > span[1]) span[1] = s.ended_at
    }
  }
  // In id order: concurrent batches lock the rows they share in the same order.
  const rows = [...last.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const column = <T>(pick: (s: SessionRecord) => T) => rows.map(pick)
  await tx.unsafe(UPSERT_SESSIONS, [
    storeId,
    column((s) => s.id),
    column((s) => s.visitor_id),
    column((s) => s.started_at),
    column((s) => s.ended_at),
    column((s) => s.pageviews),
    column((s) => s.device),
    column((s) => s.source),
    column((s) => s.landing_page),
    column((s) => (s.viewed_product ? 1 : 0)),
    column((s) => (s.added_to_cart ? 1 : 0)),
    column((s) => (s.reached_checkout ? 1 : 0)),
    at,
  ])
  const visitors = [...spans.keys()].sort()
  await tx.unsafe(
    `INSERT INTO visitors (store_id, id, first_seen_at, last_seen_at)
       SELECT $1, * FROM unnest($2::text[], $3::int8[], $4::int8[])
     ON CONFLICT (store_id, id) DO UPDATE SET
       first_seen_at = least(visitors.first_seen_at, excluded.first_seen_at),
       last_seen_at = greatest(visitors.last_seen_at, excluded.last_seen_at)
     WHERE visitors.first_seen_at > excluded.first_seen_at
        OR visitors.last_seen_at < excluded.last_seen_at`,
    [
      storeId,
      visitors,
      visitors.map((v) => spans.get(v)?.[0]),
      visitors.map((v) => spans.get(v)?.[1]),
    ],
  )
  if (respanned.size > 0) {
    const ids = [...respanned].sort()
    // After a session moved or changed hands, its visitors' spans are taken from their sessions.
    await tx.unsafe(
      `DELETE FROM visitors v WHERE v.store_id = $1 AND v.id = ANY($2::text[])
         AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.store_id = $1 AND s.visitor_id = v.id)`,
      [storeId, ids],
    )
    await tx.unsafe(
      `UPDATE visitors v SET first_seen_at = s.first, last_seen_at = s.last
       FROM (SELECT visitor_id, min(started_at) AS first, max(ended_at) AS last FROM sessions
             WHERE store_id = $1 AND visitor_id = ANY($2::text[]) GROUP BY visitor_id) s
       WHERE v.store_id = $1 AND v.id = s.visitor_id`,
      [storeId, ids],
    )
  }
  const hours = [...hoursOf(touched)].sort((a, b) => a - b)
  await tx.unsafe(
    `INSERT INTO data_changes (store_id, hour, revision) SELECT $1, h, $3 FROM unnest($2::int8[]) h
     ON CONFLICT (store_id, hour) DO UPDATE SET revision = excluded.revision`,
    [storeId, hours, revision],
  )
  return { inserted, updated }
}

const LATEST_SESSIONS = `SELECT DISTINCT ON (visitor_id) id, visitor_id, started_at, ended_at,
    pageviews, device, source, landing_page, viewed_product, added_to_cart, reached_checkout
  FROM sessions WHERE store_id = $1 AND visitor_id = ANY($2::text[])
  ORDER BY visitor_id, started_at DESC, ended_at DESC, id DESC`

// The calls of stores that still exist: a store deleted (by another process too) while its calls
// waited would fail the whole batch. Their rows are locked against a delete until the batch
// commits (FOR KEY SHARE): a delete under way is waited for, and its store's calls then left out.
const INSERT_CALL = `INSERT INTO sync_requests (store_id, at, key_id, address, status, duration_ms,
    error) SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::int8[],
    $6::float8[], $7::text[]) AS c (store_id, at, key_id, address, status, duration_ms, error)
  WHERE c.store_id IS NULL
    OR c.store_id IN (SELECT id FROM stores WHERE id = ANY($1::int8[]) FOR KEY SHARE)`

/** PostgreSQL's ingest engine. */
export class PgIngest implements IngestEngine {
  readonly #sql: SQL

  constructor(private readonly data: PgData) {
    this.#sql = data.sql
  }

  async writeSessions(storeId: number, sessions: SessionRecord[], at: number): Promise<WriteCount> {
    if (sessions.length === 0) return { inserted: 0, updated: 0 }
    const count = await this.#sql.begin(async (tx) => {
      const revision = await nextRevision(tx, storeId)
      if (revision === null) throw new Error(`Store ${storeId} does not exist`)
      return await upsertSessions(tx, storeId, sessions, at, revision)
    })
    this.data.cache.forget(revisionKey(storeId))
    return count
  }

  /** Orders: the portable upsert (src/db/orders.ts, the webhook's) in one transaction. */
  async writeOrders(storeId: number, orders: OrderRecord[], at: number): Promise<WriteCount> {
    const count = await this.data.tx((q) => writeOrders(q, storeId, orders, at))
    this.data.cache.forget(revisionKey(storeId))
    return count
  }

  /** No bulk load on PostgreSQL: an import writes batches (each a few set statements). */
  async beginBulkLoad(): Promise<BulkLoadWriter | null> {
    return null
  }

  /**
   * The visitors' latest sessions are read once the store's row is locked (no other writer of
   * the store runs meanwhile, on any node), then `work` runs on them synchronously; its writes
   * are applied afterwards in the same transaction. No session is kept in memory between
   * batches: another node may have written the visitor since.
   */
  async trackerBatch<T>(
    _openSessions: OpenSessions,
    at: number,
    visitors: readonly (readonly [number, string])[],
    work: (batch: TrackerBatch) => T,
  ): Promise<T> {
    const byStore = new Map<number, string[]>()
    for (const [storeId, visitorId] of visitors) {
      const list = byStore.get(storeId)
      if (list) list.push(visitorId)
      else byStore.set(storeId, [visitorId])
    }
    const stores = [...byStore.keys()].sort((a, b) => a - b)
    const result = await this.#sql.begin(async (tx) => {
      const revisions = new Map<number, number>()
      const latest = new Map<string, SessionRecord>()
      for (const storeId of stores) {
        // A store deleted since its events arrived: they go with it, the others are written.
        const revision = await nextRevision(tx, storeId)
        if (revision === null) continue
        revisions.set(storeId, revision)
        const rows = await pgRows<SessionRow>(tx, LATEST_SESSIONS, [storeId, byStore.get(storeId)])
        for (const row of rows) latest.set(`${storeId}:${row.visitor_id}`, sessionFromRow(row))
      }
      const writes: [number, SessionRecord[], ReadonlyMap<string, StoredSpan>][] = []
      const value = work({
        latest(storeId, visitorId) {
          const found = latest.get(`${storeId}:${visitorId}`)
          return found ? { ...found } : null
        },
        write(storeId, sessions, stored) {
          writes.push([storeId, sessions.map((s) => ({ ...s })), stored])
          // Every session the batch did not find stored is new: it holds each visitor's
          // latest session, read under the store's lock.
          let updated = 0
          for (const s of sessions) if (stored.has(s.id)) updated++
          return { inserted: sessions.length - updated, updated }
        },
        remember() {},
      })
      for (const [storeId, sessions, stored] of writes) {
        const revision = revisions.get(storeId)
        if (revision !== undefined)
          await upsertSessions(tx, storeId, sessions, at, revision, stored, true)
      }
      return value
    })
    for (const storeId of stores) this.data.cache.forget(revisionKey(storeId))
    return result as T
  }

  async prepareBulkImport(): Promise<void> {}

  async writeCallLog(batch: CallLogBatch): Promise<(number | null)[]> {
    const { entries, refusals } = batch
    return (await this.#sql.begin(async (tx) => {
      if (entries.length > 0) {
        await tx.unsafe(INSERT_CALL, [
          entries.map((e) => e.storeId),
          entries.map((e) => e.at),
          entries.map((e) => e.keyId),
          entries.map((e) => e.address),
          entries.map((e) => e.status),
          entries.map((e) => e.durationMs),
          entries.map((e) => e.error),
        ])
      }
      const ids: (number | null)[] = []
      for (const run of refusals) {
        const e = run.entry
        if (run.rowId === null) {
          const [row] = await pgRows<{ id: number }>(
            tx,
            `INSERT INTO sync_requests (store_id, at, key_id, address, status, duration_ms, error,
               count) SELECT * FROM (VALUES ($1::int8, $2::int8, $3::int8, $4::text, $5::int8,
               $6::float8, $7::text, $8::int8)) AS c (store_id, at, key_id, address, status,
               duration_ms, error, count)
             WHERE c.store_id IS NULL
               OR c.store_id IN (SELECT id FROM stores WHERE id = $1::int8 FOR KEY SHARE)
             RETURNING id`,
            [e.storeId, e.at, e.keyId, e.address, e.status, e.durationMs, e.error, run.count],
          )
          ids.push(row?.id ?? null)
        } else {
          await tx.unsafe('UPDATE sync_requests SET count = $1 WHERE id = $2', [
            run.count,
            run.rowId,
          ])
          ids.push(null)
        }
      }
      if (batch.pruneBefore !== null)
        await tx.unsafe(toDollarParams(PRUNE_CALL_LOG_SQL), [batch.pruneBefore])
      return ids
    })) as (number | null)[]
  }
}
