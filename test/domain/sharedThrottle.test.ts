// The failed-attempt throttle shared by the nodes of one database (SharedThrottle): each attempt
// is judged by its own place in the window, whatever order the database's answers come back in.
import { afterEach, expect, test } from 'bun:test'
import type { Data, SqlValue } from '../../src/db/data.ts'
import { TooManyRequests } from '../../src/domain/errors.ts'
import { SharedThrottle } from '../../src/domain/sharedThrottle.ts'
import { openTestStore, type TestStore } from '../utils.ts'

let t: TestStore
afterEach(() => t.close())

test('an attempt counted within the allowance passes, even when a later attempt past it answered first', async () => {
  t = await openTestStore()
  // The real database, with one answer held back: the next statement runs (and counts) at once,
  // but its answer is handed over only when `release` is called.
  let hold = false
  const { promise: released, resolve: release } = Promise.withResolvers<void>()
  const data = {
    get: async (sql: string, ...params: SqlValue[]) => {
      const held = hold
      hold = false
      const row = await t.data.get(sql, ...params)
      if (held) await released
      return row
    },
    run: (sql: string, ...params: SqlValue[]) => t.data.run(sql, ...params),
  } as unknown as Data
  const throttle = new SharedThrottle(
    data,
    'login',
    () => t.clock.now().epochMilliseconds,
    { max: 5, windowMs: 15 * 60_000 },
    (seconds) => new TooManyRequests(seconds, 'Too many failed logins'),
  )
  for (let i = 0; i < 4; i++) await throttle.take('203.0.113.7')
  // The fifth attempt is counted (5: within the allowance) but its answer is held back…
  hold = true
  const fifth = throttle.take('203.0.113.7').then(
    () => 'passed',
    (err) => (err instanceof TooManyRequests ? 'refused' : String(err)),
  )
  await Bun.sleep(50)
  // …while the sixth is counted after it (6: past the allowance) and answered first.
  await expect(throttle.take('203.0.113.7')).rejects.toBeInstanceOf(TooManyRequests)
  release()
  expect(await fifth).toBe('passed')
  // Spent now: the next is refused.
  await expect(throttle.take('203.0.113.7')).rejects.toBeInstanceOf(TooManyRequests)
})
