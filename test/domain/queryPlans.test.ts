import { expect, test } from 'bun:test'
import { openDatabaseFile } from '../../src/db/database.ts'
import { METRIC_QUERIES } from '../../src/db/metrics.ts'
import { LATEST_SESSION_SQL, VISITOR_SESSION_AT_SQL } from '../../src/db/sessions.ts'
import { describeSqliteOnly } from '../utils.ts'

// SQLite's planner (EXPLAIN QUERY PLAN); PostgreSQL plans by its statistics, at run time.
describeSqliteOnly('query plans (SQLite only)', () => {
  // Cost must follow the period's rows, not the table's: every period query searches an index.
  test.each(Object.entries(METRIC_QUERIES))(
    '%s reads through an index, never a full scan',
    (_, sql) => {
      const db = openDatabaseFile(':memory:', { secretKey: undefined })
      const plan = (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(1, 0, 1) as { detail: string }[]).map(
        (r) => r.detail,
      )
      db.close()
      const reads = plan.filter((d) => /^(SEARCH|SCAN) /.test(d))
      expect(reads.length).toBeGreaterThan(0)
      for (const read of reads)
        expect(read).toMatch(/^SEARCH \w+ USING (COVERING )?INDEX \w+ \(store_id=\? AND /)
      // Nothing sorted or deduplicated in a temporary b-tree: those grow with the period.
      expect(plan.filter((d) => d.includes('TEMP B-TREE'))).toEqual([])
    },
  )

  // Sessions arrive in any order: a period's sessions are read from the index on start time
  // alone, never from the table (one random lookup per session when they arrived shuffled).
  test.each(['SESSION_SUMS', 'SESSION_VISITS'] as const)(
    '%s reads sessions from the covering index on start time only',
    (name) => {
      const db = openDatabaseFile(':memory:', { secretKey: undefined })
      const plan = (
        db.query(`EXPLAIN QUERY PLAN ${METRIC_QUERIES[name]}`).all(1, 0, 1) as { detail: string }[]
      ).map((r) => r.detail)
      db.close()
      const sessionReads = plan.filter((d) => /^(SEARCH|SCAN) s(essions)? /.test(d))
      expect(sessionReads).toEqual([
        expect.stringMatching(
          /^SEARCH s(essions)? USING COVERING INDEX sessions_by_start \(store_id=\? AND started_at>\? AND started_at<\?\)$/,
        ),
      ])
    },
  )

  // A visitor's sessions are found through sessions_by_visitor. Asked as ORDER BY started_at DESC
  // LIMIT 1, the planner preferred walking the covering sessions_by_start back from the store's
  // latest session, filtering by visitor: every session of the store for a new visitor.
  test.each([
    ['LATEST_SESSION_SQL', LATEST_SESSION_SQL, [1, 'v']],
    ['VISITOR_SESSION_AT_SQL', VISITOR_SESSION_AT_SQL, [1, 'v', 1]],
  ] as const)('%s seeks the visitor, never walks the store', (_, sql, params) => {
    const db = openDatabaseFile(':memory:', { secretKey: undefined })
    const plan = (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map(
      (r) => r.detail,
    )
    db.close()
    const reads = plan.filter((d) => /^(SEARCH|SCAN) /.test(d))
    expect(reads.length).toBeGreaterThan(0)
    for (const read of reads) expect(read).toMatch(/^SEARCH sessions .*visitor_id=\?/)
  })
})
