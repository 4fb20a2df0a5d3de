// ENGINE-SPECIFIC (SQLite): the tracker's batch writer. A batch of events is applied in one
// IMMEDIATE transaction, synchronously: the domain's sessionizer (domain/collect.ts) asks for
// each visitor's latest session and hands back the sessions to write, which the session writer
// upserts. The latest sessions written are remembered in memory (OpenSessions) so that a
// visitor's next event needs no index probe. Reached through the IngestEngine (src/db/ingest.ts).
import type { SessionRecord } from '../../domain/records.ts'
import type { Database } from '../database.ts'
import type { TrackerBatch } from '../ingest.ts'
import { LATEST_SESSION_SQL, type SessionRow, sessionFromRow } from '../sessions.ts'
import { writeSessions } from './sessionWriters.ts'

/** At most this many visitors are remembered; the least recently seen are forgotten first. */
const MAX_OPEN_SESSIONS = 20_000

/**
 * The latest session of each visitor seen lately, as this process last wrote it. Dropped whole
 * when anything else wrote sessions: another connection (SQLite's data_version moves) or another
 * path of this one (an import: the connection's sessionWrites moves). The core holds one
 * (`core.openSessions`); the tracker's batches are given it.
 */
export class OpenSessions {
  private dataVersion = -1
  private writes = -1
  private byVisitor = new Map<string, SessionRecord>()

  /** The remembered sessions by `store:visitor`, emptied first if anything else wrote sessions. */
  current(db: Database): ReadonlyMap<string, SessionRecord> {
    const { data_version } = db.query<{ data_version: number }, []>('PRAGMA data_version').get()!
    if (this.dataVersion !== data_version || this.writes !== db.sessionWrites) {
      this.dataVersion = data_version
      this.writes = db.sessionWrites
      this.byVisitor = new Map()
    }
    return this.byVisitor
  }

  /**
   * Forgets every session: a store was created in this process, and SQLite may give it the id of
   * a store deleted before (rows are numbered from the highest id there is), whose visitors must
   * not be taken for its own. (Created or deleted by another process, the data_version moves.)
   */
  clear(): void {
    this.byVisitor = new Map()
  }

  /** Remembers the sessions a batch just wrote (its own write is no change to drop). */
  remember(db: Database, sessions: Iterable<[string, SessionRecord]>): void {
    const { byVisitor } = this
    for (const [key, s] of sessions) {
      // Re-inserted at the end: a Map iterates in insertion order, oldest first.
      byVisitor.delete(key)
      byVisitor.set(key, { ...s })
    }
    for (const key of byVisitor.keys()) {
      if (byVisitor.size <= MAX_OPEN_SESSIONS) break
      byVisitor.delete(key)
    }
    this.writes = db.sessionWrites
  }
}

/**
 * Runs `work` (the domain's sessionizer) in one IMMEDIATE transaction on the connection, giving
 * it the visitors' latest sessions and the session writer; afterwards remembers the sessions it
 * said to remember. Sessions are written with `updated_at` = `at`.
 */
export function recordTrackerBatch<T>(
  db: Database,
  openSessions: OpenSessions,
  at: number,
  work: (batch: TrackerBatch) => T,
): T {
  const known = openSessions.current(db)
  const latest = db.query<SessionRow, [number, string]>(LATEST_SESSION_SQL)
  const exists = db.query<{ id: number }, [number]>('SELECT id FROM stores WHERE id = ?')
  // Stores deleted since their events arrived: the events go with them, the others are written.
  const gone = new Set<number>()
  const remembered: [string, SessionRecord][] = []
  const batch: TrackerBatch = {
    latest(storeId, visitorId) {
      const copy = known.get(`${storeId}:${visitorId}`)
      if (copy) return { ...copy }
      const row = latest.get(storeId, visitorId)
      return row ? sessionFromRow(row) : null
    },
    write(storeId, sessions, stored) {
      if (exists.get(storeId)) return writeSessions(db, storeId, sessions, at, stored)
      gone.add(storeId)
      return { inserted: 0, updated: 0 }
    },
    remember(storeId, visitorId, session) {
      if (!gone.has(storeId)) remembered.push([`${storeId}:${visitorId}`, session])
    },
  }
  const result = db.transaction(() => work(batch)).immediate()
  openSessions.remember(db, remembered)
  return result
}
