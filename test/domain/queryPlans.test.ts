import { expect, test } from 'bun:test'
import { openDatabaseFile } from '../../src/db/database.ts'
import { METRIC_QUERIES } from '../../src/db/metrics.ts'

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
  },
)
