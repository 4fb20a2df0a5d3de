import { afterEach, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { FixedClock } from '../../src/domain/clock.ts'
import { recentOutbox } from '../../src/domain/notifications.ts'
import {
  CLAIM_LEASE_MS,
  claimPeriod,
  duePeriod,
  isDue,
  nextSync,
  Scheduler,
  type ScheduleSettings,
} from '../../src/domain/scheduler.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { syncPeriod } from '../../src/domain/sync.ts'
import { createTestApp, onPostgres, type TestApp } from '../utils.ts'

const at = (iso: string) => Temporal.Instant.from(iso)

function schedule(overrides: Partial<ScheduleSettings> = {}): ScheduleSettings {
  return {
    api_enabled: true,
    timezone: 'America/New_York',
    sync_hour: 1,
    sync_frequency: 'daily',
    week_start: 'monday',
    ...overrides,
  }
}

/** isDue at each instant, as [instant, due] pairs, for readable expectations. */
function dueAt(settings: ScheduleSettings, instants: string[]): [string, boolean][] {
  return instants.map((i) => [i, isDue(at(i), settings)])
}

/** nextSync at an instant, as [store time of the sync, its period's label]. */
function next(iso: string, settings: ScheduleSettings): [string, string] {
  const n = nextSync(at(iso), settings)
  return [n.at.toZonedDateTimeISO(settings.timezone).toPlainDateTime().toString(), n.period.label]
}

describe('nextSync', () => {
  test('async daily: before sync_hour the previous day is next, from sync_hour on today is', () => {
    expect(next('2026-11-26T05:59:59Z', schedule())).toEqual(['2026-11-26T01:00:00', '2026-11-25'])
    // 01:00 in New York: yesterday's sync is due now (this tick runs it); next is today's.
    expect(next('2026-11-26T06:00:00Z', schedule())).toEqual(['2026-11-27T01:00:00', '2026-11-26'])
    expect(next('2026-11-26T06:00:00Z', schedule({ sync_hour: 7 }))).toEqual([
      '2026-11-26T07:00:00',
      '2026-11-25',
    ])
  })

  test('async weekly: the week that holds today, synced on the first day of the next week', () => {
    // Thursday 2026-11-26: the week of Monday the 23rd, synced Monday the 30th.
    expect(next('2026-11-26T06:00:00Z', schedule({ sync_frequency: 'weekly' }))).toEqual([
      '2026-11-30T01:00:00',
      '2026-11-23/2026-11-29',
    ])
    expect(
      next('2026-11-26T06:00:00Z', schedule({ sync_frequency: 'weekly', week_start: 'sunday' })),
    ).toEqual(['2026-11-29T01:00:00', '2026-11-22/2026-11-28'])
    // Monday 00:30: last week is not synced yet; it is next, at 01:00.
    expect(next('2026-11-30T05:30:00Z', schedule({ sync_frequency: 'weekly' }))).toEqual([
      '2026-11-30T01:00:00',
      '2026-11-23/2026-11-29',
    ])
  })

  test('an hour skipped by daylight saving time is the first valid time after it', async () => {
    // 2027-03-14 in New York: 02:00 does not exist, the sync runs at 03:00.
    expect(next('2027-03-14T06:00:00Z', schedule({ sync_hour: 2 }))).toEqual([
      '2027-03-14T03:00:00',
      '2027-03-13',
    ])
  })
})

describe('isDue', () => {
  test('async daily: false from store midnight until sync_hour, true from sync_hour on', () => {
    expect(
      dueAt(schedule(), [
        '2026-11-26T04:59:59Z', // 23:59:59 on the 25th: the 24th is the previous day, long due
        '2026-11-26T05:00:00Z', // 00:00 on the 26th: the 25th just ended, not yet 01:00
        '2026-11-26T05:59:59Z', // 00:59:59
        '2026-11-26T06:00:00Z', // 01:00
        '2026-11-26T23:00:00Z', // 18:00
      ]),
    ).toEqual([
      ['2026-11-26T04:59:59Z', true],
      ['2026-11-26T05:00:00Z', false],
      ['2026-11-26T05:59:59Z', false],
      ['2026-11-26T06:00:00Z', true],
      ['2026-11-26T23:00:00Z', true],
    ])
  })

  test('sync_hour 0 is due at store midnight, 23 an hour before the next midnight', async () => {
    expect(
      dueAt(schedule({ sync_hour: 0 }), ['2026-11-26T04:59:59Z', '2026-11-26T05:00:00Z']),
    ).toEqual([
      ['2026-11-26T04:59:59Z', true],
      ['2026-11-26T05:00:00Z', true],
    ])
    expect(
      dueAt(schedule({ sync_hour: 23 }), ['2026-11-27T03:59:59Z', '2026-11-27T04:00:00Z']),
    ).toEqual([
      ['2026-11-27T03:59:59Z', false],
      ['2026-11-27T04:00:00Z', true],
    ])
  })

  test('the API switched async off: never due', () => {
    expect(isDue(at('2026-11-26T12:00:00Z'), schedule({ api_enabled: false }))).toBe(false)
    expect(duePeriod(at('2026-11-26T12:00:00Z'), schedule({ api_enabled: false }))).toBeNull()
  })

  test('America/New_York, spring async forward: 02:00 does not exist, sync_hour 2 means 03:00 EDT', () => {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    expect(
      dueAt(schedule({ sync_hour: 2 }), [
        '2026-03-08T06:59:59Z', // 01:59:59 EST
        '2026-03-08T07:00:00Z', // 03:00 EDT
      ]),
    ).toEqual([
      ['2026-03-08T06:59:59Z', false],
      ['2026-03-08T07:00:00Z', true],
    ])
    // The 23-hour day itself is one whole period, due at 01:00 EDT next day (05:00Z).
    expect(dueAt(schedule(), ['2026-03-09T04:59:59Z', '2026-03-09T05:00:00Z'])).toEqual([
      ['2026-03-09T04:59:59Z', false],
      ['2026-03-09T05:00:00Z', true],
    ])
    expect(duePeriod(at('2026-03-09T05:00:00Z'), schedule())?.period.label).toBe('2026-03-08')
  })

  test('America/New_York, fall async back: the first 01:00 (EDT) counts', () => {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:00 happens twice.
    expect(dueAt(schedule(), ['2026-11-01T04:59:59Z', '2026-11-01T05:00:00Z'])).toEqual([
      ['2026-11-01T04:59:59Z', false],
      ['2026-11-01T05:00:00Z', true],
    ])
    // The 25-hour day (1 November) is due at 01:00 EST on the 2nd.
    expect(duePeriod(at('2026-11-02T05:59:59Z'), schedule())?.period.label).toBe('2026-10-31')
    expect(duePeriod(at('2026-11-02T06:00:00Z'), schedule())?.period.label).toBe('2026-11-01')
  })

  test('Europe/Berlin, spring forward and fall back', async () => {
    const berlin = (sync_hour: number) => schedule({ timezone: 'Europe/Berlin', sync_hour })
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST; sync_hour 2 means 03:00 CEST = 01:00Z.
    expect(dueAt(berlin(2), ['2026-03-29T00:59:59Z', '2026-03-29T01:00:00Z'])).toEqual([
      ['2026-03-29T00:59:59Z', false],
      ['2026-03-29T01:00:00Z', true],
    ])
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:00 twice, the first (CEST) counts.
    expect(dueAt(berlin(2), ['2026-10-24T23:59:59Z', '2026-10-25T00:00:00Z'])).toEqual([
      ['2026-10-24T23:59:59Z', false],
      ['2026-10-25T00:00:00Z', true],
    ])
    // sync_hour 3 is 03:00 CET, after the repeated hour: 02:00Z.
    expect(dueAt(berlin(3), ['2026-10-25T01:59:59Z', '2026-10-25T02:00:00Z'])).toEqual([
      ['2026-10-25T01:59:59Z', false],
      ['2026-10-25T02:00:00Z', true],
    ])
  })

  test('async weekly: the previous week is due on the first day of the week at sync_hour', () => {
    const weekly = schedule({ timezone: 'Europe/Berlin', sync_frequency: 'weekly' })
    // Monday 30 November 2026, Berlin (CET, UTC+1).
    expect(
      dueAt(weekly, ['2026-11-29T23:30:00Z', '2026-11-29T23:59:59Z', '2026-11-30T00:00:00Z']),
    ).toEqual([
      ['2026-11-29T23:30:00Z', false], // Monday 00:30
      ['2026-11-29T23:59:59Z', false],
      ['2026-11-30T00:00:00Z', true], // Monday 01:00
    ])
    expect(duePeriod(at('2026-11-29T23:30:00Z'), weekly)?.period.label).toBe(
      '2026-11-16/2026-11-22',
    )
    expect(duePeriod(at('2026-11-30T00:00:00Z'), weekly)?.period.label).toBe(
      '2026-11-23/2026-11-29',
    )
    const sunday = { ...weekly, week_start: 'sunday' as const, timezone: 'America/New_York' }
    // Sunday 29 November 2026, 01:00 EST = 06:00Z.
    expect(dueAt(sunday, ['2026-11-29T05:59:59Z', '2026-11-29T06:00:00Z'])).toEqual([
      ['2026-11-29T05:59:59Z', false],
      ['2026-11-29T06:00:00Z', true],
    ])
    expect(duePeriod(at('2026-11-29T06:00:00Z'), sunday)?.period.label).toBe(
      '2026-11-22/2026-11-28',
    )
  })

  test('async duePeriod: before sync_hour, the period before the previous one (caught up if missed)', () => {
    expect(duePeriod(at('2026-11-26T05:30:00Z'), schedule())).toMatchObject({
      frequency: 'daily',
      period: { label: '2026-11-24' },
    })
    expect(duePeriod(at('2026-11-26T06:00:00Z'), schedule())?.period.label).toBe('2026-11-25')
  })
})

describe('Scheduler', () => {
  let t: TestApp
  afterEach(() => t?.close())

  async function app(now = '2026-11-26T06:00:30Z', settings: Record<string, unknown> = {}) {
    t = await createTestApp({
      now,
      settings: {
        timezone: 'America/New_York',
        api_enabled: true,
        store_email: 'owner@acme.test',
        notify_success: true,
        ...settings,
      },
    })
    return t
  }

  const records = () =>
    t.data.all('SELECT period_label, status, trigger FROM sync_records ORDER BY period_start')

  test('syncs the due period once, with trigger scheduler, and queues one email', async () => {
    await app()
    let wakes = 0
    const scheduler = new Scheduler({
      data: t.data,
      clock: t.clock,
      owner: 'a',
      onSynced: () => wakes++,
    })
    expect(await scheduler.tick()).toEqual([
      { storeId: 1, frequency: 'daily', periodLabel: '2026-11-25', result: 'synced' },
    ])
    t.clock.advance({ seconds: 30 })
    expect(await scheduler.tick()).toEqual([
      { storeId: 1, frequency: 'daily', periodLabel: '2026-11-25', result: 'done' },
    ])
    expect(wakes).toBe(1)
    expect(await records()).toEqual([
      { period_label: '2026-11-25', status: 'success', trigger: 'scheduler' },
    ])
    expect((await recentOutbox(t.data, t.store)).map((r) => r.subject)).toEqual([
      '[Analytics Sync] Success - 2026-11-26 01:00',
    ])
  })

  test('does nothing with the API deactivated', async () => {
    await app(undefined, { api_enabled: false })
    expect(await new Scheduler({ data: t.data, clock: t.clock }).tick()).toEqual([])
    expect(await records()).toEqual([])
  })

  test('a period the API already synced is not synced again', async () => {
    await app()
    await syncPeriod(t.data, t.store, { trigger: 'api', strictFrequency: true }, t.clock)
    expect((await new Scheduler({ data: t.data, clock: t.clock }).tick())[0]?.result).toBe('done')
    expect(await records()).toEqual([
      { period_label: '2026-11-25', status: 'success', trigger: 'api' },
    ])
    expect(await recentOutbox(t.data, t.store)).toHaveLength(1)
  })

  test('follows the clock through days; after downtime only the latest period is caught up', async () => {
    await app('2026-11-26T05:30:00Z') // 00:30: yesterday is not due yet, the day before is
    const scheduler = new Scheduler({ data: t.data, clock: t.clock })
    expect((await scheduler.tick()).map((o) => o.periodLabel)).toEqual(['2026-11-24'])
    t.clock.set('2026-11-26T06:00:00Z')
    expect((await scheduler.tick()).map((o) => [o.periodLabel, o.result])).toEqual([
      ['2026-11-25', 'synced'],
    ])
    // Down from the 26th to noon on the 30th: a new process catches up the 29th only.
    const restarted = new Scheduler({
      data: t.data,
      clock: new FixedClock('2026-11-30T17:00:00Z'),
    })
    restarted.start(60_000)
    await restarted.stop()
    expect(await records()).toEqual([
      { period_label: '2026-11-24', status: 'success', trigger: 'scheduler' },
      { period_label: '2026-11-25', status: 'success', trigger: 'scheduler' },
      { period_label: '2026-11-29', status: 'success', trigger: 'scheduler' },
    ])
  })

  test('a crashed claim blocks others until its lease expires, then is retried', async () => {
    await app()
    const periodStart = Temporal.PlainDate.from('2026-11-25')
      .toZonedDateTime('America/New_York')
      .toInstant().epochMilliseconds
    const key = { frequency: 'daily' as const, periodStart }
    expect(
      await claimPeriod(t.data, t.store, key, 'crashed', t.clock.now().epochMilliseconds),
    ).toBe('claimed')
    const survivor = new Scheduler({ data: t.data, clock: t.clock, owner: 'survivor' })
    expect((await survivor.tick())[0]?.result).toBe('busy')
    t.clock.advance({ milliseconds: CLAIM_LEASE_MS - 1 })
    expect((await survivor.tick())[0]?.result).toBe('busy')
    t.clock.advance({ milliseconds: 1 })
    expect((await survivor.tick())[0]?.result).toBe('synced')
    expect(
      await t.data.all('SELECT owner, attempts, done_at IS NOT NULL AS done FROM sync_claims'),
    ).toEqual([{ owner: 'survivor', attempts: 2, done: 1 }])
    expect(await records()).toHaveLength(1)
  })

  test('a failing scheduled async sync: one failure email, retried every 15 minutes, 4 attempts', async () => {
    await app(undefined, { notify_success: false })
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    const logs: string[] = []
    const scheduler = new Scheduler({ data: t.data, clock: t.clock, log: (l) => logs.push(l) })
    const results: string[] = []
    for (let i = 0; i < 9; i++) {
      results.push((await scheduler.tick())[0]!.result)
      t.clock.advance({ minutes: 7, seconds: 30 })
    }
    expect(results).toEqual([
      'failed',
      'busy',
      'failed',
      'busy',
      'failed',
      'busy',
      'failed',
      'busy',
      'given-up',
    ])
    expect(logs).toHaveLength(4)
    // The engine's own message for the missing table.
    const missing = onPostgres ? 'relation "sessions" does not exist' : 'no such table: sessions'
    expect(logs[0]).toBe(`Scheduled daily sync of "default" 2026-11-25 failed: ${missing}\n`)
    expect((await recentOutbox(t.data, t.store)).map((r) => [r.outcome, r.periodLabel])).toEqual([
      ['failed', '2026-11-25'],
    ])
    // Once the data is readable again the API still answers, and a success email follows.
    await t.data.run('ALTER TABLE sessions_gone RENAME TO sessions')
    await updateSettings(t.data, t.store, { notify_success: true }, t.clock)
    await syncPeriod(t.data, t.store, { trigger: 'api', strictFrequency: true }, t.clock)
    expect((await recentOutbox(t.data, t.store)).map((r) => r.outcome)).toEqual([
      'success',
      'failed',
    ])
  })

  test('two processes on one data directory ticking at the same moment sync the period once', async () => {
    await app()
    // On PostgreSQL the children open the test app's database.
    const database = t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}
    const startAt = Date.now() + 400
    const procs = ['p1', 'p2', 'p3'].map((owner) =>
      Bun.spawn(
        [
          process.execPath,
          join(import.meta.dir, '..', 'fixtures', 'scheduler-tick.ts'),
          t.dir,
          '2026-11-26T06:00:30Z',
          String(startAt),
          owner,
        ],
        { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...database } },
      ),
    )
    const outputs = await Promise.all(
      procs.map(async (p) => {
        const [out, err, code] = await Promise.all([
          new Response(p.stdout).text(),
          new Response(p.stderr).text(),
          p.exited,
        ])
        if (code !== 0) throw new Error(err)
        return JSON.parse(out) as { result: string }[]
      }),
    )
    const results = outputs.map((o) => o[0]?.result)
    expect(results.filter((r) => r === 'synced')).toHaveLength(1)
    expect(results.filter((r) => r === 'done' || r === 'busy')).toHaveLength(2)
    expect(await t.data.get('SELECT count(*) AS n FROM sync_records')).toEqual({ n: 1 })
    expect(await t.data.all('SELECT attempts FROM sync_claims')).toEqual([{ attempts: 1 }])
    expect(await t.data.get('SELECT count(*) AS n FROM outbox')).toEqual({ n: 1 })
  })
})
