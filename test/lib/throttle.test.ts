import { describe, expect, test } from 'bun:test'
import { FixedClock } from '../../src/domain/clock.ts'
import { TooManyRequests } from '../../src/domain/errors.ts'
import { MAX_THROTTLE_ENTRIES, Throttle, type ThrottleOptions } from '../../src/lib/throttle.ts'

const WINDOW = { max: 3, windowMs: 15 * 60_000 }
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

/** A throttle on the fixed clock, refusing with TooManyRequests as the server's do. */
const throttleOn = (clock: FixedClock, options: ThrottleOptions, message?: string) =>
  new Throttle(
    () => clock.now().epochMilliseconds,
    options,
    (seconds) => new TooManyRequests(seconds, message),
  )

/** The seconds to wait a refused call names, or null when it is let through. */
function refusal(call: () => void): number | null {
  try {
    call()
    return null
  } catch (err) {
    if (!(err instanceof TooManyRequests)) throw err
    return err.retryAfterSeconds
  }
}

describe('Throttle: failed attempts (keys, logins)', () => {
  test('take counts the attempt before its outcome: the allowance, then refusals until the window ends; a success forgets', () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const throttle = throttleOn(clock, WINDOW)
    expect([1, 2, 3].map(() => refusal(() => throttle.take('a')))).toEqual([null, null, null])
    expect(refusal(() => throttle.take('a'))).toBe(900)
    clock.advance({ minutes: 5, seconds: 1 })
    expect(refusal(() => throttle.take('a'))).toBe(599)
    expect(refusal(() => throttle.check('a'))).toBe(599)
    expect(refusal(() => throttle.take('b'))).toBeNull() // another address has its own allowance
    clock.advance({ minutes: 10 })
    expect(refusal(() => throttle.take('a'))).toBeNull() // the window ended
    throttle.take('a')
    throttle.succeed('a')
    expect([1, 2, 3].map(() => refusal(() => throttle.take('a')))).toEqual([null, null, null])
  })

  test('memory is bounded: past the cap the oldest address is forgotten, the newest kept', () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const throttle = throttleOn(clock, {
      max: 1,
      windowMs: 60_000,
      maxEntries: 1000,
    })
    for (let i = 0; i < 25_000; i++) throttle.fail(address(i))
    expect(throttle.size).toBe(1000)
    expect(refusal(() => throttle.check(address(24_999)))).toBe(60)
    expect(refusal(() => throttle.check(address(24_000)))).toBe(60)
    expect(refusal(() => throttle.check(address(23_999)))).toBeNull()
  })

  test(`the default cap is ${MAX_THROTTLE_ENTRIES} addresses`, () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const throttle = throttleOn(clock, WINDOW)
    for (let i = 0; i <= MAX_THROTTLE_ENTRIES; i++) throttle.fail(address(i))
    expect(throttle.size).toBe(MAX_THROTTLE_ENTRIES)
  })

  test('ended windows are dropped from the front as new addresses arrive, the open ones kept', () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const throttle = throttleOn(clock, WINDOW)
    for (let i = 0; i < 300; i++) throttle.fail(address(i))
    clock.advance({ minutes: 5 })
    for (let i = 300; i < 500; i++) throttle.fail(address(i))
    expect(throttle.size).toBe(500)
    clock.advance({ minutes: 10 }) // the first 300 windows have ended
    throttle.fail('192.0.2.1')
    expect(throttle.size).toBe(201)
    clock.advance({ minutes: 15 })
    throttle.fail('192.0.2.2')
    expect(throttle.size).toBe(1)
  })

  test('an address whose window starts again moves behind the others, so none outlives its window', () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const throttle = throttleOn(clock, WINDOW)
    throttle.fail('a') // 06:00
    clock.advance({ minutes: 10 })
    throttle.fail('b') // 06:10
    clock.advance({ minutes: 5 })
    throttle.fail('a') // 06:15: a's window starts again
    clock.advance({ minutes: 10 })
    throttle.fail('c') // 06:25: b's window has ended, a's has not
    expect(throttle.size).toBe(2)
    throttle.fail('a')
    throttle.fail('a')
    expect(refusal(() => throttle.check('a'))).toBe(300) // a counted 3 since 06:15
  })
})

describe('Throttle: events (the tracker)', () => {
  test('max events per key and window, then Retry-After until the window ends', () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const limiter = throttleOn(clock, { max: 2, windowMs: 60_000 }, 'Too many')
    expect(refusal(() => limiter.take('k'))).toBeNull()
    expect(refusal(() => limiter.take('k'))).toBeNull()
    clock.advance({ seconds: 20 })
    expect(refusal(() => limiter.take('k'))).toBe(40)
    expect(refusal(() => limiter.take('other'))).toBeNull()
    clock.advance({ seconds: 40 })
    expect(refusal(() => limiter.take('k'))).toBeNull()
  })

  test('memory is bounded and ended windows leave as new keys arrive', () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const limiter = throttleOn(clock, { max: 1, windowMs: 60_000, maxEntries: 1000 })
    for (let i = 0; i < 25_000; i++) limiter.take(`visitor-${i}`)
    expect(limiter.size).toBe(1000)
    expect(refusal(() => limiter.take('visitor-24999'))).toBe(60)
    expect(refusal(() => limiter.take('visitor-0'))).toBeNull() // forgotten: a fresh window
    clock.advance({ minutes: 1 })
    limiter.take('visitor-new')
    expect(limiter.size).toBe(1)
  })

  test(`the default cap is ${MAX_THROTTLE_ENTRIES} keys`, () => {
    const clock = new FixedClock('2026-11-26T06:00:00Z')
    const limiter = throttleOn(clock, { max: 10, windowMs: 60_000 })
    for (let i = 0; i <= MAX_THROTTLE_ENTRIES; i++) limiter.take(`visitor-${i}`)
    expect(limiter.size).toBe(MAX_THROTTLE_ENTRIES)
  })
})
