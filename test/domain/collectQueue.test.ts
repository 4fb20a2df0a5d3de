import { expect, test } from 'bun:test'
import { OpenSessions } from '../../src/db/sqlite/trackerBatch.ts'
import { CollectQueue } from '../../src/domain/collect.ts'
import { openTestStore } from '../utils.ts'

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

test('events that arrive while a batch is being written wait for it, then go together in one transaction', async () => {
  const t = await openTestStore('2026-11-25T15:00:00Z')
  try {
    const queue = new CollectQueue(t.data, new OpenSessions(), t.clock)
    const add = (visitorId: string) =>
      queue.add({
        storeId: t.storeId,
        visitorId,
        name: 'pageview',
        url: 'https://shop.example/',
        referrer: '',
        userAgent: DESKTOP,
      })
    const revision = async () =>
      (
        await t.data.get<{ r: number }>(
          'SELECT data_revision AS r FROM stores WHERE id = ?',
          t.storeId,
        )
      )?.r ?? 0
    const before = await revision()
    // Another writer holds the store (its row on PostgreSQL, the connection on SQLite), so the
    // first batch stays in flight for as long as the test wants.
    const locked = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    const held = t.data.tx(async (q) => {
      await q.run('UPDATE stores SET data_revision = data_revision WHERE id = ?', t.storeId)
      locked.resolve()
      await release.promise
    })
    await locked.promise
    const first = add('visitor-aaaa')
    await nextTurn()
    expect(queue.size).toBe(0)
    // Two more turns' events, while the first batch waits on the store.
    const second = add('visitor-bbbb')
    await nextTurn()
    const third = add('visitor-cccc')
    await nextTurn()
    expect(queue.size).toBe(2)
    release.resolve()
    await held
    await Promise.all([first, second, third])
    expect(queue.size).toBe(0)
    expect(await t.data.get('SELECT count(*) AS n FROM sessions')).toEqual({ n: 3 })
    // The first batch, then the two late events together: one transaction each.
    expect((await revision()) - before).toBe(2)
  } finally {
    t.close()
  }
})
