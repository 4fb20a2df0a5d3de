// ENGINE-SPECIFIC (SQLite): the synchronous bulk session writers of the hot paths (imports, the
// tracker's batches, the demo): sessions upserted by id, a batch per transaction,
// visitors kept up to date and the changed hours marked. Reached through the IngestEngine
// (src/db/ingest.ts), which runs them once no transaction of the data layer is open; they do not
// parse or validate input. The revision statements they share with the portable queries live
// in revisions.ts.
import type { SessionRecord } from '../../domain/records.ts'
import type { Database } from '../database.ts'
import type { StoredSpan, WriteCount } from '../ingest.ts'
import { hoursOf, MARK_HOUR_SQL, NEXT_REVISION_SQL, revisionKey } from '../revisions.ts'

/**
 * Upserts sessions by id in one transaction; returns how many were new and how many changed.
 * `stored` names sessions the caller knows exist (with their stored span): they are updated
 * without first trying an insert and reading them back.
 */
export function writeSessions(
  db: Database,
  storeId: number,
  sessions: SessionRecord[],
  at: number,
  stored?: ReadonlyMap<string, StoredSpan>,
): WriteCount {
  // New sessions take one statement; a re-sent one is read first (its old hour changes too).
  const insert = db.query(
    `INSERT INTO sessions (store_id, id, visitor_id, started_at, ended_at, pageviews, device, source,
       landing_page, viewed_product, added_to_cart, reached_checkout, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (store_id, id) DO NOTHING`,
  )
  const existing = db.query<StoredSpan, [number, string]>(
    'SELECT started_at, ended_at, visitor_id FROM sessions WHERE store_id = ? AND id = ?',
  )
  const update = db.query(
    `UPDATE sessions SET visitor_id = ?3, started_at = ?4, ended_at = ?5, pageviews = ?6,
       device = ?7, source = ?8, landing_page = ?9, viewed_product = ?10, added_to_cart = ?11,
       reached_checkout = ?12, updated_at = ?13
     WHERE store_id = ?1 AND id = ?2`,
  )
  // A new visitor is one insert; a known one is changed only where its span grew, and only in
  // the column that moved (an unchanged first_seen_at leaves its index alone).
  const newVisitor = db.query(
    `INSERT INTO visitors (store_id, id, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (store_id, id) DO NOTHING`,
  )
  const seenEarlier = db.query(
    'UPDATE visitors SET first_seen_at = ?3 WHERE store_id = ?1 AND id = ?2 AND first_seen_at > ?3',
  )
  const seenLater = db.query(
    'UPDATE visitors SET last_seen_at = ?3 WHERE store_id = ?1 AND id = ?2 AND last_seen_at < ?3',
  )
  // After a session moved or changed hands, its visitors' spans are taken from their sessions.
  const respan = db.query(
    `UPDATE visitors SET
       first_seen_at = (SELECT min(started_at) FROM sessions WHERE store_id = ?1 AND visitor_id = ?2),
       last_seen_at = (SELECT max(ended_at) FROM sessions WHERE store_id = ?1 AND visitor_id = ?2)
     WHERE store_id = ?1 AND id = ?2`,
  )
  const orphan = db.query(
    `DELETE FROM visitors WHERE store_id = ?1 AND id = ?2
       AND NOT EXISTS (SELECT 1 FROM sessions WHERE store_id = ?1 AND visitor_id = ?2)`,
  )
  db.sessionWrites++
  return db
    .transaction(() => {
      let inserted = 0
      let updated = 0
      const touched: number[] = []
      const respanned = new Set<string>()
      // Each visitor once per batch, in key order: fewer, more local B-tree writes.
      const seen = new Map<string, [number, number]>()
      for (const s of sessions) {
        const values = [
          storeId,
          s.id,
          s.visitor_id,
          s.started_at,
          s.ended_at,
          s.pageviews,
          s.device,
          s.source,
          s.landing_page,
          s.viewed_product ? 1 : 0,
          s.added_to_cart ? 1 : 0,
          s.reached_checkout ? 1 : 0,
          at,
        ] as const
        const known = stored?.get(s.id)
        // A session said to be stored but gone since (nothing deletes them today) is inserted.
        const updatedKnown = known !== undefined && update.run(...values).changes === 1
        if (!updatedKnown && insert.run(...values).changes === 1) inserted++
        else {
          const before = known ?? existing.get(storeId, s.id)!
          touched.push(before.started_at)
          if (!updatedKnown) update.run(...values)
          updated++
          // A session that only grew (the tracker extending it) is covered by the min/max below.
          if (
            before.visitor_id !== s.visitor_id ||
            s.started_at > before.started_at ||
            s.ended_at < before.ended_at
          ) {
            respanned.add(before.visitor_id).add(s.visitor_id)
          }
        }
        touched.push(s.started_at)
        const span = seen.get(s.visitor_id)
        if (!span) seen.set(s.visitor_id, [s.started_at, s.ended_at])
        else {
          if (s.started_at < span[0]) span[0] = s.started_at
          if (s.ended_at > span[1]) span[1] = s.ended_at
        }
      }
      for (const id of [...seen.keys()].sort()) {
        const [first, last] = seen.get(id)!
        if (newVisitor.run(storeId, id, first, last).changes === 0) {
          seenEarlier.run(storeId, id, first)
          seenLater.run(storeId, id, last)
        }
      }
      for (const id of respanned) {
        orphan.run(storeId, id)
        respan.run(storeId, id)
      }
      markChanged(db, storeId, touched)
      return { inserted, updated }
    })
    .immediate()
}

/** Gives the store a new data revision, inside the caller's transaction, and returns it. */
export function nextRevision(db: Database, storeId: number): number {
  const { data_revision } = db
    .query<{ data_revision: number }, [number]>(NEXT_REVISION_SQL)
    .get(storeId)!
  db.cache.forget(revisionKey(storeId))
  return data_revision
}

/**
 * Marks the hours holding changed rows with a new store revision, so that stored syncs of
 * those periods know they are stale. Runs inside the caller's transaction.
 */
function markChanged(db: Database, storeId: number, times: Iterable<number>): void {
  const hours = hoursOf(times)
  if (hours.size === 0) return
  const data_revision = nextRevision(db, storeId)
  const mark = db.query(MARK_HOUR_SQL)
  for (const hour of hours) mark.run(storeId, hour, data_revision)
}
