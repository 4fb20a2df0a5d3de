// Query module of `throttle_windows`: failed attempts per client address, shared by the nodes of
// one database (src/domain/sharedThrottle.ts).
import type { Queries } from './data.ts'

/** An address's current window: when it started and the failures counted in it. */
export interface ThrottleWindow {
  since: number
  count: number
}

/** The stored window of `key` in `throttle`, or null. */
export function throttleWindow(
  q: Queries,
  throttle: string,
  key: string,
): Promise<ThrottleWindow | null> {
  return q.get<ThrottleWindow>(
    'SELECT since, count FROM throttle_windows WHERE throttle = ? AND key = ?',
    throttle,
    key,
  )
}

/**
 * Counts one failure at `now`: in the open window, or in a new one when the stored window ended
 * (`windowMs` after it started). Returns the window as counted, in one statement.
 */
export async function countFailure(
  q: Queries,
  throttle: string,
  key: string,
  now: number,
  windowMs: number,
): Promise<ThrottleWindow> {
  const row = await q.get<ThrottleWindow>(
    `INSERT INTO throttle_windows (throttle, key, since, count) VALUES (?1, ?2, ?3, 1)
     ON CONFLICT (throttle, key) DO UPDATE SET
       count = CASE WHEN throttle_windows.since + ?4 <= ?3 THEN 1 ELSE throttle_windows.count + 1 END,
       since = CASE WHEN throttle_windows.since + ?4 <= ?3 THEN ?3 ELSE throttle_windows.since END
     RETURNING since, count`,
    throttle,
    key,
    now,
    windowMs,
  )
  return row ?? { since: now, count: 1 }
}

/** Forgets `key`'s window (a successful login). */
export async function forgetWindow(q: Queries, throttle: string, key: string): Promise<void> {
  await q.run('DELETE FROM throttle_windows WHERE throttle = ? AND key = ?', throttle, key)
}

/** Deletes the windows of `throttle` that started before `before` (ended ones). */
export async function pruneWindows(q: Queries, throttle: string, before: number): Promise<void> {
  await q.run('DELETE FROM throttle_windows WHERE throttle = ? AND since < ?', throttle, before)
}
