import { afterEach, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { pruneAuditLog, recordAudit, recordRepeatedAudit } from '../../src/domain/audit.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { startBackgroundJobs } from '../../src/domain/scheduler.ts'
import { openTestStore, type TestStore } from '../utils.ts'

let s: TestStore
afterEach(() => s.close())

const NOW = '2026-11-26T06:00:00Z'

/** Records one entry `daysAgo` days before NOW. */
async function recordDaysAgo(daysAgo: number) {
  const clock = new FixedClock(Temporal.Instant.from(NOW).subtract({ hours: daysAgo * 24 }))
  await recordAudit(
    s.data,
    {
      storeId: s.storeId,
      actor: 'cli',
      address: null,
      action: 'key.created',
      detail: `${daysAgo}`,
    },
    clock,
  )
}

const kept = async () =>
  (await s.data.all<{ detail: string }>('SELECT detail FROM audit_log ORDER BY id')).map((r) =>
    Number(r.detail),
  )

test('entries older than the retention are pruned, newer ones kept; 0 keeps them all', async () => {
  s = await openTestStore(NOW)
  for (const d of [800, 366, 365.5, 365, 364, 30, 0]) await recordDaysAgo(d)
  expect(await pruneAuditLog(s.data, 0, s.clock)).toBe(0)
  expect(await kept()).toEqual([800, 366, 365.5, 365, 364, 30, 0])
  // Exactly 365 days old is still kept; older goes.
  expect(await pruneAuditLog(s.data, 365, s.clock)).toBe(3)
  expect(await kept()).toEqual([365, 364, 30, 0])
  s.clock.advance({ hours: 300 * 24 })
  expect(await pruneAuditLog(s.data, 365, s.clock)).toBe(2)
  expect(await kept()).toEqual([30, 0])
  expect(await pruneAuditLog(s.data, 7, s.clock)).toBe(2)
  expect(await kept()).toEqual([])
})

test('the background jobs prune the audit log when they start, keeping MIDA_AUDIT_KEEP_DAYS', async () => {
  s = await openTestStore(NOW)
  for (const d of [400, 100, 40, 1]) await recordDaysAgo(d)
  const start = (auditKeepDays?: number) =>
    startBackgroundJobs({
      data: s.data,
      clock: s.clock,
      mailer: async () => null,
      baseUrl: 'http://127.0.0.1:8080',
      auditKeepDays,
    })
  let jobs = start()
  await jobs.stop()
  // The default keeps a year.
  expect(await kept()).toEqual([100, 40, 1])
  jobs = start(60)
  await jobs.stop()
  expect(await kept()).toEqual([40, 1])
})

test('a repeated event counts in the address latest row while it is the same action in the window', async () => {
  s = await openTestStore(NOW)
  const WINDOW = 15 * 60_000
  const refused = async (address: string | null) =>
    await recordRepeatedAudit(
      s.data,
      { storeId: s.storeId, actor: 'x@shop.example', address, action: 'login.throttled' },
      WINDOW,
      s.clock,
    )
  const rows = () => s.data.all('SELECT address, action, count FROM audit_log ORDER BY id')
  for (let i = 0; i < 3; i++) await refused('10.0.0.1')
  await refused('10.0.0.2')
  await refused('10.0.0.1')
  expect(await rows()).toEqual([
    { address: '10.0.0.1', action: 'login.throttled', count: 4 },
    { address: '10.0.0.2', action: 'login.throttled', count: 1 },
  ])
  // Past the window from the row's first time: a new row.
  s.clock.advance({ milliseconds: WINDOW })
  await refused('10.0.0.1')
  // Another entry of the address in between: a new row.
  await recordAudit(
    s.data,
    { storeId: s.storeId, actor: 'x@shop.example', address: '10.0.0.2', action: 'login.failed' },
    s.clock,
  )
  await refused('10.0.0.2')
  await refused(null)
  await refused(null)
  expect(await rows()).toEqual([
    { address: '10.0.0.1', action: 'login.throttled', count: 4 },
    { address: '10.0.0.2', action: 'login.throttled', count: 1 },
    { address: '10.0.0.1', action: 'login.throttled', count: 1 },
    { address: '10.0.0.2', action: 'login.failed', count: 1 },
    { address: '10.0.0.2', action: 'login.throttled', count: 1 },
    { address: null, action: 'login.throttled', count: 2 },
  ])
})

test('MIDA_AUDIT_KEEP_DAYS: 365 by default, 0 for forever, validated', async () => {
  s = await openTestStore(NOW)
  const load = (value?: string) =>
    loadConfig({ env: value === undefined ? {} : { MIDA_AUDIT_KEEP_DAYS: value }, cwd: s.dir })
  expect(load().auditKeepDays).toBe(365)
  expect(load('30').auditKeepDays).toBe(30)
  expect(load('0').auditKeepDays).toBe(0)
  for (const bad of ['-1', '1.5', 'a year', '36501']) {
    expect(() => load(bad)).toThrow(
      new ConfigError(
        `Invalid MIDA_AUDIT_KEEP_DAYS: expected how many days to keep audit log entries, 0 to 36500 (0: forever), got ${JSON.stringify(bad)}`,
      ),
    )
  }
})
