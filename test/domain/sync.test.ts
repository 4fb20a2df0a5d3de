import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { Data } from '../../src/db/data.ts'
import type { FixedClock } from '../../src/domain/clock.ts'
import { Conflict, InvalidInput } from '../../src/domain/errors.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { type Frequency, type Period, periodContaining } from '../../src/domain/periods.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import { initialiseSettings, readSettings, updateSettings } from '../../src/domain/settings.ts'
import type { Store } from '../../src/domain/stores.ts'
import {
  etagOf,
  notifiesFor,
  recentSyncRecords,
  SyncFailed,
  type SyncRequest,
  type SyncTrigger,
  syncPeriod,
} from '../../src/domain/sync.ts'
import { NEW_YORK_DAY_SYNC, onPostgres, openTestStore } from '../utils.ts'

let data: Data
let store: Store
let clock: FixedClock
let close: () => void

beforeEach(async () => {
  ;({ data, store, clock, close } = await openTestStore('2026-11-26T06:00:00Z')) // 01:00 in New York
  await initialiseSettings(data, store, clock)
  await updateSettings(data, store, { timezone: 'America/New_York', currency: 'USD' }, clock)
  await session('s1', '2026-11-25T10:00:00-05:00')
  await order('o1', '2026-11-25T10:05:00-05:00', '25.00', 's1')
})

afterEach(() => close())

async function session(id: string, startedAt: string): Promise<void> {
  await writeSessions(
    data,
    store,
    [sessionInput.parse({ id, visitor_id: `v-${id}`, started_at: startedAt })],
    clock,
  )
}

async function order(
  id: string,
  createdAt: string,
  total: string,
  sessionId?: string,
): Promise<void> {
  await writeOrders(
    data,
    store,
    [orderInput.parse({ id, created_at: createdAt, total_price: total, session_id: sessionId })],
    clock,
  )
}

const api: SyncRequest = { trigger: 'api', strictFrequency: true }
const sync = (request: Partial<SyncRequest> = {}) =>
  syncPeriod(data, store, { ...api, ...request }, clock)
const record = () =>
  data.all<{
    status: string
    body: string | null
    etag: string | null
    synced_at: number
    trigger: string
    error: string | null
  }>('SELECT status, body, etag, synced_at, trigger, error FROM sync_records ORDER BY id')

describe('a sync record', () => {
  test('the first call computes the last completed day and stores it', async () => {
    const result = await sync()
    expect(result.computed).toBe(true)
    expect(result.frequency).toBe('daily')
    expect(result.period.label).toBe('2026-11-25')
    expect(result.etag).toBe(etagOf(result.body))
    expect(result.etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/)
    const body = JSON.parse(result.body)
    expect(body).toMatchObject(NEW_YORK_DAY_SYNC)
    expect(body.data.total_sessions).toBe(1)
    expect(body.data.successful_orders).toBe(1)
    expect(body.data.total_revenue).toBe(25)
    expect(Object.keys(body)).toEqual([
      'success',
      'message',
      'frequency',
      'period',
      'synced_at',
      'currency',
      'data',
    ])
    expect(await record()).toEqual([
      {
        status: 'success',
        body: result.body,
        etag: result.etag,
        synced_at: Date.parse('2026-11-26T06:00:00Z'),
        trigger: 'api',
        error: null,
      },
    ])
  })

  test('is served again unchanged: same bytes, same ETag, synced_at unchanged', async () => {
    const first = await sync()
    clock.advance({ hours: 3 })
    const second = await sync({ trigger: 'scheduler' })
    expect(second.computed).toBe(false)
    expect(second.body).toBe(first.body)
    expect(second.etag).toBe(first.etag)
    expect(JSON.parse(second.body).synced_at).toBe('2026-11-26T06:00:00.000Z')
    expect((await record())[0]!.synced_at).toBe(Date.parse('2026-11-26T06:00:00Z'))
    // the same period asked for by date is the same record
    const byDate = await sync({ date: Temporal.PlainDate.from('2026-11-25') })
    expect(byDate.computed).toBe(false)
    expect(byDate.body).toBe(first.body)
  })

  test('is recomputed after a late order in its period', async () => {
    const first = await sync()
    clock.advance({ hours: 2 })
    await order('late', '2026-11-25T23:59:00-05:00', '10.50')
    const second = await sync()
    expect(second.computed).toBe(true)
    expect(second.body).not.toBe(first.body)
    expect(second.etag).not.toBe(first.etag)
    const body = JSON.parse(second.body)
    expect(body.synced_at).toBe('2026-11-26T08:00:00.000Z')
    expect(body.data.successful_orders).toBe(2)
    expect(body.data.total_revenue).toBe(35.5)
    expect((await record()).length).toBe(1)
    expect((await record())[0]!.etag).toBe(second.etag)
    // and then served unchanged again
    clock.advance({ minutes: 5 })
    expect((await sync()).computed).toBe(false)
  })

  test('is recomputed when a session of the period changes, or an order of it is cancelled', async () => {
    await sync()
    await session('s2', '2026-11-25T00:00:00-05:00')
    const afterSession = await sync()
    expect(afterSession.computed).toBe(true)
    expect(JSON.parse(afterSession.body).data.total_sessions).toBe(2)
    await writeOrders(
      data,
      store,
      [
        orderInput.parse({
          id: 'o1',
          created_at: '2026-11-25T10:05:00-05:00',
          total_price: '25.00',
          cancelled_at: '2026-11-27T10:00:00-05:00',
        }),
      ],
      clock,
    )
    const afterCancel = await sync()
    expect(afterCancel.computed).toBe(true)
    expect(JSON.parse(afterCancel.body).data.successful_orders).toBe(0)
  })

  test('an order of another day linked to a session of the period makes it stale', async () => {
    await sync()
    // created the next day, but it decides whether s1 counts as abandoned
    await order('next-day', '2026-11-26T09:00:00-05:00', '5', 's1')
    expect((await sync()).computed).toBe(true)
  })

  test('is not recomputed after a change in another period', async () => {
    const first = await sync()
    clock.advance({ hours: 1 })
    await order('other', '2026-11-26T00:00:00-05:00', '99') // the next day, from its first second
    await session('before', '2026-11-24T23:59:59-05:00') // the day before, to its last second
    const second = await sync()
    expect(second.computed).toBe(false)
    expect(second.body).toBe(first.body)
  })

  test('a change of currency, time zone or week start recomputes it', async () => {
    const first = await sync()
    await updateSettings(data, store, { currency: 'EUR' }, clock)
    const eur = await sync()
    expect(eur.computed).toBe(true)
    expect(JSON.parse(eur.body).currency).toBe('EUR')
    expect(eur.etag).not.toBe(first.etag)
    expect((await sync()).computed).toBe(false)

    await updateSettings(data, store, { week_start: 'sunday' }, clock)
    expect((await sync()).computed).toBe(true)

    // Toronto shares New York's offsets, so the period starts at the same instant
    await updateSettings(data, store, { timezone: 'America/Toronto' }, clock)
    const toronto = await sync()
    expect(toronto.computed).toBe(true)
    expect(JSON.parse(toronto.body).period.timezone).toBe('America/Toronto')
    expect((await record()).length).toBe(1)
  })

  test('daily and weekly records of overlapping periods are separate', async () => {
    await updateSettings(data, store, { sync_frequency: 'weekly' }, clock)
    const weekly = await sync({ date: Temporal.PlainDate.from('2026-11-18') })
    expect(weekly.period.label).toBe('2026-11-16/2026-11-22')
    const cli = await syncPeriod(
      data,
      store,
      { frequency: 'daily', trigger: 'cli', strictFrequency: false },
      clock,
    )
    expect(cli.frequency).toBe('daily')
    expect(cli.period.label).toBe('2026-11-25')
    expect((await record()).map((r) => r.trigger)).toEqual(['api', 'cli'])
    expect((await recentSyncRecords(data, store)).map((r) => [r.frequency, r.periodLabel])).toEqual(
      [
        ['daily', '2026-11-25'],
        ['weekly', '2026-11-16/2026-11-22'],
      ],
    )
  })
})

describe('which period', async () => {
  test('a frequency other than the saved one is a conflict for the API', async () => {
    await expect(sync({ frequency: 'weekly' })).rejects.toThrow(
      new Conflict('Frequency mismatch: requested weekly, but the data sync frequency is daily'),
    )
    expect((await sync({ frequency: 'daily' })).period.label).toBe('2026-11-25')
  })

  test('a date whose period is not complete yet is refused', async () => {
    await expect(sync({ date: Temporal.PlainDate.from('2026-11-26') })).rejects.toThrow(
      new InvalidInput(
        'date: the daily period 2026-11-26 is not complete yet (it ends 2026-11-27T00:00:00-05:00)',
      ),
    )
    await updateSettings(data, store, { sync_frequency: 'weekly' }, clock)
    await expect(sync({ date: Temporal.PlainDate.from('2026-11-24') })).rejects.toThrow(
      new InvalidInput(
        'date: the weekly period 2026-11-23/2026-11-29 is not complete yet (it ends 2026-11-30T00:00:00-05:00)',
      ),
    )
    expect(await record()).toEqual([])
  })

  test('an older date gives that day', async () => {
    const old = await sync({ date: Temporal.PlainDate.from('2026-11-01') })
    expect(JSON.parse(old.body).period).toEqual({
      start: '2026-11-01T00:00:00-04:00',
      end: '2026-11-02T00:00:00-05:00',
      label: '2026-11-01',
      timezone: 'America/New_York',
    })
  })
})

describe('failure', async () => {
  test('is recorded and raised as SyncFailed; a later success replaces it', async () => {
    await data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    let error: unknown
    try {
      await sync()
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(SyncFailed)
    expect((error as SyncFailed).status).toBe(500)
    expect((error as SyncFailed).message).toBe('Sync failed')
    expect(await record()).toEqual([
      {
        status: 'failed',
        body: null,
        etag: null,
        synced_at: Date.parse('2026-11-26T06:00:00Z'),
        trigger: 'api',
        // The engine's own message (each names the missing table its way).
        error: onPostgres ? 'relation "sessions" does not exist' : 'no such table: sessions',
      },
    ])
    await data.run('ALTER TABLE sessions_gone RENAME TO sessions')
    clock.advance({ minutes: 1 })
    const ok = await sync()
    expect(ok.computed).toBe(true)
    expect(await record()).toEqual([
      {
        status: 'success',
        body: ok.body,
        etag: ok.etag,
        synced_at: Date.parse('2026-11-26T06:01:00Z'),
        trigger: 'api',
        error: null,
      },
    ])
  })

  test('a failure never overwrites a stored success', async () => {
    const ok = await sync()
    await order('late', '2026-11-25T12:00:00-05:00', '1') // makes the record stale
    await data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    await expect(sync()).rejects.toThrow(SyncFailed)
    expect((await record())[0]).toMatchObject({ status: 'success', body: ok.body, error: null })
  })
})

describe('which syncs send notifications', () => {
  test('the last completed period of the saved frequency, or whatever the scheduler syncs', async () => {
    const settings = await readSettings(data, store)
    const now = clock.now() // 01:00 on 26 Nov in New York: the 25th is the last completed day
    const day = (date: string) =>
      periodContaining(Temporal.PlainDate.from(date), 'daily', 'America/New_York', 'monday')
    const lastWeek = periodContaining(
      Temporal.PlainDate.from('2026-11-18'),
      'weekly',
      'America/New_York',
      'monday',
    )
    const cases: [SyncTrigger, Frequency, Period, boolean][] = [
      ['api', 'daily', day('2026-11-25'), true],
      ['cli', 'daily', day('2026-11-25'), true],
      ['api', 'daily', day('2026-11-24'), false],
      ['cli', 'daily', day('2026-10-01'), false],
      // Another frequency than the saved one is a backfill too (the CLI's --frequency).
      ['cli', 'weekly', lastWeek, false],
      // The scheduler syncs only the latest due period, after downtime before sync_hour the
      // day before the last completed one.
      ['scheduler', 'daily', day('2026-11-24'), true],
    ]
    expect(
      cases.map(([trigger, frequency, period]) =>
        notifiesFor(settings, trigger, frequency, period, now),
      ),
    ).toEqual(cases.map((c) => c[3]))
    await updateSettings(data, store, { sync_frequency: 'weekly' }, clock)
    expect(notifiesFor(await readSettings(data, store), 'cli', 'weekly', lastWeek, now)).toBe(true)
  })
})
