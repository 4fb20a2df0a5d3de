import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteData } from '../../src/db/data.ts'
import { type Database, openDatabase } from '../../src/db/database.ts'

let dir: string
let db: Database
let data: SqliteData

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mida-data-'))
  db = openDatabase(dir, { secretKey: undefined })
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
  data = new SqliteData(db)
})

afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const values = async () =>
  (await data.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((r) => r.v)

describe('the SQLite data layer', () => {
  test('all, get and run answer with rows, one row or null, and the count changed', async () => {
    expect(await data.run('INSERT INTO t (v) VALUES (?), (?)', 'a', 'b')).toBe(2)
    expect(await data.get<{ v: string }>('SELECT v FROM t WHERE id = ?', 2)).toEqual({ v: 'b' })
    expect(await data.get('SELECT v FROM t WHERE id = ?', 9)).toBeNull()
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
    expect(db.inTransaction).toBe(false)
  })

  test('statements from outside an open transaction wait for its end, never land inside it', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const tx = data.tx(async (q) => {
      await q.run('INSERT INTO t (v) VALUES (?)', 'inside')
      await gate
      throw new Error('rolled back')
    })
    const outside = data.run('INSERT INTO t (v) VALUES (?)', 'outside')
    const written = data.exclusive((raw) => raw.query('SELECT count(*) AS n FROM t').get())
    release()
    await expect(tx).rejects.toThrow('rolled back')
    expect(await outside).toBe(1)
    // The exclusive writer waited too, in its turn: after the rollback and the outside insert.
    expect(await written).toEqual({ n: 1 })
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
    expect(order).toEqual(['first begins', 'first ends', 'second begins', 'second ends'])
    expect(await values()).toEqual(['first', 'second'])
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
        const other = openDatabase(dir, { secretKey: undefined })
        other.query('INSERT INTO t (v) VALUES (?)').run('b')
        other.close()
        const after = await q.all<{ v: string }>('SELECT v FROM t')
        return [before.length, after.length]
      },
      { readOnly: true },
    )
    expect(seen).toEqual([1, 1])
    expect(await values()).toEqual(['a', 'b'])
  })

  test('the handle of an ended transaction refuses statements', async () => {
    let kept!: Parameters<Parameters<SqliteData['tx']>[0]>[0]
    await data.tx(async (q) => {
      kept = q
    })
    await expect(kept.run('INSERT INTO t (v) VALUES (?)', 'late')).rejects.toThrow(
      'This transaction has ended',
    )
    expect(await values()).toEqual([])
  })
})
