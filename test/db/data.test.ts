import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Data, type Queries, SqliteData } from '../../src/db/data.ts'
import { openData } from '../../src/db/open.ts'
import { onPostgres, sqliteOnly, testDatabaseUrl } from '../utils.ts'

let dir: string
let databaseUrl: string | undefined
let data: Data

/** Another connection to the same database (another process beside the server). */
const openOther = () => openData({ dataDir: dir, databaseUrl, secretKey: undefined })

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mida-data-'))
  databaseUrl = onPostgres ? await testDatabaseUrl() : undefined
  data = await openOther()
  // Each engine's own spelling of a key numbered on insert.
  const id = onPostgres
    ? 'id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY'
    : 'id INTEGER PRIMARY KEY'
  await data.run(`CREATE TABLE t (${id}, v TEXT NOT NULL)`)
})

afterEach(async () => {
  await data.close()
  rmSync(dir, { recursive: true, force: true })
})

const values = async () =>
  (await data.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((r) => r.v)

describe('the data layer', () => {
  test('all, get and run answer with rows, one row or null, and the count changed', async () => {
    expect(await data.run('INSERT INTO t (v) VALUES (?), (?)', 'a', 'b')).toBe(2)
    expect(await data.get<{ v: string }>('SELECT v FROM t WHERE id = ?', 2)).toEqual({ v: 'b' })
    expect(await data.get('SELECT v FROM t WHERE id = ?', 9)).toBeNull()
    expect(await data.values('SELECT id, v FROM t ORDER BY id')).toEqual([
      [1, 'a'],
      [2, 'b'],
    ])
    expect(await data.run('UPDATE t SET v = ? WHERE id > ?', 'c', 5)).toBe(0)
    expect(await values()).toEqual(['a', 'b'])
  })

  test('a transaction commits when its work resolves and rolls back when it throws', async () => {
    await data.tx(async (q) => {
      await q.run('INSERT INTO t (v) VALUES (?)', 'kept')
    })
    const failed = data.tx(async (q) => {
      await q.run('INSERT INTO t (v) VALUES (?)', 'dropped')
      throw new Error('no')
    })
    await expect(failed).rejects.toThrow('no')
    expect(await values()).toEqual(['kept'])
    // SQLite's one connection is left out of the transaction (PostgreSQL's went back to the pool).
    if (data instanceof SqliteData) expect(data.db.inTransaction).toBe(false)
  })

  test('writes from outside an open transaction wait for its end, never land inside it', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let inside!: () => void
    const begun = new Promise<void>((resolve) => {
      inside = resolve
    })
    const tx = data.tx(async (q) => {
      await q.run('INSERT INTO t (v) VALUES (?)', 'inside')
      inside()
      await gate
      throw new Error('rolled back')
    })
    await begun
    const outside = data.run('INSERT INTO t (v) VALUES (?)', 'outside')
    release()
    await expect(tx).rejects.toThrow('rolled back')
    expect(await outside).toBe(1)
    expect(await values()).toEqual(['outside'])
  })

  test('two transactions run one after the other', async () => {
    const order: string[] = []
    const first = data.tx(async (q) => {
      order.push('first begins')
      await Bun.sleep(5)
      await q.run('INSERT INTO t (v) VALUES (?)', 'first')
      order.push('first ends')
    })
    const second = data.tx(async (q) => {
      order.push('second begins')
      await q.run('INSERT INTO t (v) VALUES (?)', 'second')
      order.push('second ends')
    })
    await Promise.all([first, second])
    // Which goes first is the engine's: SQLite's queue keeps the order asked, PostgreSQL's
    // connections race for the write lock. Neither begins before the other has ended.
    const [one, two] = order[0] === 'first begins' ? ['first', 'second'] : ['second', 'first']
    expect(order).toEqual([`${one} begins`, `${one} ends`, `${two} begins`, `${two} ends`])
    expect(await values()).toEqual([one, two])
  })

  test('a nested transaction is a savepoint: its failure undoes only its own writes', async () => {
    await data.tx(async (q) => {
      await q.run('INSERT INTO t (v) VALUES (?)', 'outer')
      await expect(
        q.tx(async (inner) => {
          await inner.run('INSERT INTO t (v) VALUES (?)', 'inner')
          throw new Error('inner fails')
        }),
      ).rejects.toThrow('inner fails')
      await q.tx(async (inner) => {
        await inner.run('INSERT INTO t (v) VALUES (?)', 'inner kept')
      })
    })
    expect(await values()).toEqual(['outer', 'inner kept'])
  })

  test('a read-only transaction takes no write lock and sees one snapshot', async () => {
    await data.run('INSERT INTO t (v) VALUES (?)', 'a')
    const seen = await data.tx(
      async (q) => {
        const before = await q.all<{ v: string }>('SELECT v FROM t')
        // Another connection writes meanwhile (a CLI beside the server): possible, not seen.
        const other = await openOther()
        await other.run('INSERT INTO t (v) VALUES (?)', 'b')
        await other.close()
        const after = await q.all<{ v: string }>('SELECT v FROM t')
        return [before.length, after.length]
      },
      { readOnly: true },
    )
    expect(seen).toEqual([1, 1])
    expect(await values()).toEqual(['a', 'b'])
  })

  test('the handle of an ended transaction refuses statements', async () => {
    let kept!: Queries
    await data.tx(async (q) => {
      kept = q
    })
    await expect(kept.run('INSERT INTO t (v) VALUES (?)', 'late')).rejects.toThrow(
      'This transaction has ended',
    )
    expect(await values()).toEqual([])
  })
})

describe('the SQLite engine (SQLite only)', () => {
  sqliteOnly(
    'reads from outside an open transaction wait for its end too: the connection is shared (SQLite only)',
    async () => {
      const sqlite = data as SqliteData
      let release!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const tx = sqlite.tx(async (q) => {
        await q.run('INSERT INTO t (v) VALUES (?)', 'inside')
        await gate
        throw new Error('rolled back')
      })
      const outside = sqlite.run('INSERT INTO t (v) VALUES (?)', 'outside')
      const read = sqlite.get('SELECT count(*) AS n FROM t')
      const written = sqlite.exclusive((raw) => raw.query('SELECT count(*) AS n FROM t').get())
      release()
      await expect(tx).rejects.toThrow('rolled back')
      expect(await outside).toBe(1)
      // The read and the exclusive writer waited, in their turn: after the rollback and the insert.
      expect(await read).toEqual({ n: 1 })
      expect(await written).toEqual({ n: 1 })
      expect(await values()).toEqual(['outside'])
    },
  )
})
