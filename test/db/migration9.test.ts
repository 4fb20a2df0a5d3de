import { afterEach, expect } from 'bun:test'
import { join } from 'node:path'
import { SqliteData } from '../../src/db/data.ts'
import { Database, migrate } from '../../src/db/database.ts'
import { MIGRATIONS } from '../../src/db/migrations.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { prng } from '../../src/domain/demo.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { computeMetrics } from '../../src/domain/metrics.ts'
import { periodContaining } from '../../src/domain/periods.ts'
import { orderInput, type SessionRecord } from '../../src/domain/records.ts'
import { Secrets } from '../../src/domain/secrets.ts'
import type { Store } from '../../src/domain/stores.ts'
import { sqliteOnly, tempDir } from '../utils.ts'

// Migration 9 rebuilds sessions_by_start as a covering index: a store upgraded from schema 8
// keeps every session as it was and computes the same metrics from the new index. A SQLite
// file's upgrade: PostgreSQL's schema starts from the translated migrations as they are now.

const NY = 'America/New_York'
const clock = new FixedClock('2026-12-01T12:00:00Z')
const dirs: ReturnType<typeof tempDir>[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup()
})

const indexColumns = (db: Database, index: string) =>
  (db.query(`PRAGMA index_info(${index})`).all() as { name: string }[]).map((c) => c.name)

/** 1500 sessions over two weeks, written in random order, with orders on some of them. */
function generated() {
  const rand = prng(9)
  const from = Date.parse('2026-11-09T00:00:00Z')
  const sessions: SessionRecord[] = Array.from({ length: 1500 }, (_, i) => {
    const started_at = from + Math.floor(rand() * 14 * 86_400_000)
    return {
      id: `s${Math.floor(rand() * 1e9)}-${i}`,
      visitor_id: `v${Math.floor(rand() * 400)}`,
      started_at,
      ended_at: started_at + Math.floor(rand() * 1_800_000),
      pageviews: Math.floor(rand() * 6),
      device: (['desktop', 'mobile', 'tablet'] as const)[i % 3]!,
      source: (['direct', 'organic', 'paid', 'referral'] as const)[i % 4]!,
      landing_page: ['/', '/cart', '/products/a', '/\u{1F600}', '/\uFF21'][Math.floor(rand() * 5)]!,
      viewed_product: rand() < 0.5,
      added_to_cart: rand() < 0.3,
      reached_checkout: rand() < 0.2,
    }
  })
  const orders = sessions
    .filter((_, i) => i % 9 === 0)
    .map((s, i) =>
      orderInput.parse({
        id: `o${i}`,
        created_at: s.started_at + 60_000,
        total_price: `${10 + i}.50`,
        financial_status: i % 5 === 0 ? 'voided' : 'paid',
        session_id: s.id,
      }),
    )
  return { sessions, orders }
}

sqliteOnly(
  'migration 9 turns sessions_by_start into the covering index, every session and metric unchanged (SQLite only)',
  async () => {
    const d = tempDir()
    dirs.push(d)
    const db = new Database(join(d.dir, 'mida.sqlite'), new Secrets(undefined))
    try {
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 8),
      )
      expect(db.query('PRAGMA user_version').get()).toEqual({ user_version: 8 })
      expect(indexColumns(db, 'sessions_by_start')).toEqual(['store_id', 'started_at'])
      const data = new SqliteData(db)
      // The schema of version 8 has no slugs: the store as that version wrote it.
      db.exec("INSERT INTO stores (id, tracking_id, created_at) VALUES (1, 'MIDA-test', 0)")
      const store: Store = { id: 1, slug: 'default', trackingId: 'MIDA-test' }
      const { sessions, orders } = generated()
      for (let i = 0; i < sessions.length; i += 500) {
        await writeSessions(data, store, sessions.slice(i, i + 500), clock)
      }
      await writeOrders(data, store, orders, clock)
      const rows = () => db.query('SELECT * FROM sessions ORDER BY store_id, id').all()
      const periods = [
        periodContaining(Temporal.PlainDate.from('2026-11-18'), 'daily', NY, 'monday'),
        periodContaining(Temporal.PlainDate.from('2026-11-18'), 'weekly', NY, 'monday'),
      ]
      const metrics = async () => {
        const all = []
        for (const period of periods) all.push(await computeMetrics(data, store, period))
        return all
      }
      const before = { rows: rows(), metrics: await metrics() }
      expect(before.rows).toHaveLength(1500)
      expect(before.metrics[1]!.total_sessions).toBeGreaterThan(700)
      const otherIndexes = () =>
        db
          .query(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND name != 'sessions_by_start' ORDER BY name",
          )
          .all()
      const others = otherIndexes()

      // The migrations as they stood when 9 was the newest (later ones are not this test's).
      expect(
        migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 9),
        ),
      ).toBe(1)
      expect(db.query('PRAGMA user_version').get()).toEqual({ user_version: 9 })
      expect(indexColumns(db, 'sessions_by_start')).toEqual([
        'store_id',
        'started_at',
        'visitor_id',
        'landing_page',
        'pageviews',
        'ended_at',
        'device',
        'source',
        'viewed_product',
        'added_to_cart',
        'reached_checkout',
        'id',
      ])
      expect(otherIndexes()).toEqual(others)
      expect({ rows: rows(), metrics: await metrics() }).toEqual(before)
      expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    } finally {
      db.close()
    }
  },
)
