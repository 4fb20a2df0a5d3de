import { Database } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { OpenSessions } from '../../src/db/sqlite/trackerBatch.ts'
import { backupDatabase } from '../../src/domain/backup.ts'
import { recordEvents } from '../../src/domain/collect.ts'
import { writeSessions } from '../../src/domain/ingest/writers.ts'
import { sessionInput } from '../../src/domain/records.ts'
import { currentRevision } from '../../src/domain/revisions.ts'
import { applyOrderWebhook } from '../../src/domain/webhooks.ts'
import { openTestStore, sqliteOnly, type TestStore } from '../utils.ts'

let t: TestStore

beforeEach(async () => {
  t = await openTestStore()
})

afterEach(() => t.close())

/** A transaction of the data layer held open until `release` is called, then rolled back. */
function openTransaction() {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const tx = t.data.tx(async (q) => {
    await q.run("UPDATE stores SET tracking_id = 'MIDA-held' WHERE id = ?", t.store.id)
    await gate
    throw new Error('rolled back')
  })
  return {
    /** Lets the transaction go on (and roll back); resolves once it has ended. */
    async end() {
      release()
      await expect(tx).rejects.toThrow('rolled back')
    },
  }
}

const count = async (table: 'sessions' | 'orders') =>
  (await t.data.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))?.n

describe('the engine-specific bulk writers wait for an open transaction of the data layer', () => {
  test('a tracker batch asked for meanwhile is written after it, not inside it (and not lost in its rollback)', async () => {
    const held = openTransaction()
    const written = recordEvents(
      t.data,
      new OpenSessions(),
      [
        {
          storeId: t.store.id,
          visitorId: 'visitor-1',
          name: 'pageview',
          url: 'https://shop.example/',
          referrer: '',
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0',
          at: t.clock.now().epochMilliseconds,
        },
      ],
      t.clock,
    )
    await held.end()
    expect(await written).toEqual({ inserted: 1, updated: 0 })
    expect(await count('sessions')).toBe(1)
  })

  test('an import batch asked for meanwhile is written after it', async () => {
    const held = openTransaction()
    const written = writeSessions(
      t.data,
      t.store,
      [sessionInput.parse({ id: 's1', visitor_id: 'v1', started_at: '2026-11-25T12:00:00Z' })],
      t.clock,
    )
    await held.end()
    expect(await written).toEqual({ inserted: 1, updated: 0 })
    expect(await count('sessions')).toBe(1)
  })

  sqliteOnly(
    'a backup asked for meanwhile is written after it (VACUUM INTO cannot run inside one) (SQLite only)',
    async () => {
      const held = openTransaction()
      const file = join(t.dir, 'copy.sqlite')
      const backup = backupDatabase(t.data, file)
      await held.end()
      expect((await backup).file).toBe(file)
      const copy = new Database(file, { readonly: true })
      try {
        expect(copy.query('SELECT tracking_id FROM stores').get()).toEqual({
          tracking_id: t.store.trackingId,
        })
      } finally {
        copy.close()
      }
      expect(existsSync(`${file}.partial`)).toBe(false)
    },
  )
})

describe("the store's data revision", () => {
  test('is read through the cache and moves with every write, a webhook order included', async () => {
    expect(await currentRevision(t.data, t.store)).toBe(0)
    await writeSessions(
      t.data,
      t.store,
      [sessionInput.parse({ id: 's1', visitor_id: 'v1', started_at: '2026-11-25T12:00:00Z' })],
      t.clock,
    )
    expect(await currentRevision(t.data, t.store)).toBe(1)
    // Cached now (load answers from the cache without reading): the webhook's transaction must
    // drop it once committed.
    expect(
      await t.data.cache.load(`data-revision:${t.store.id}`, async () => null as number | null),
    ).toBe(1)
    const body = new TextEncoder().encode(
      JSON.stringify({ id: 7, created_at: '2026-11-25T12:30:00Z', total_price: '10.00' }),
    )
    const applied = await applyOrderWebhook(
      t.data,
      t.store,
      { webhookId: 'w1', topic: 'orders/create', body },
      t.clock,
    )
    expect(applied).toEqual({ outcome: 'applied', orderId: '7' })
    expect(await count('orders')).toBe(1)
    expect(await currentRevision(t.data, t.store)).toBe(2)
  })
})
