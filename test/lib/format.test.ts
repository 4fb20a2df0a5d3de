import { describe, expect, test } from 'bun:test'
import {
  formatCompactMoney,
  formatCount,
  formatMoney,
  formatPercent,
  formatStoreTime,
  formatStoreTimeWithZone,
} from '../../src/lib/format.ts'

describe('formatCompactMoney (the stat cards)', () => {
  test('exact below 1,000, one decimal and a K or M from there on', () => {
    expect(formatCompactMoney(860.1, 'USD')).toBe('$860.10')
    expect(formatCompactMoney(999.99, 'USD')).toBe('$999.99')
    expect(formatCompactMoney(1000, 'USD')).toBe('$1K')
    expect(formatCompactMoney(2121.05, 'USD')).toBe('$2.1K')
    expect(formatCompactMoney(15_234.5, 'EUR')).toBe('€15.2K')
    expect(formatCompactMoney(1_234_567, 'USD')).toBe('$1.2M')
    expect(formatCompactMoney(-2121, 'USD')).toBe('-$2.1K')
  })

  test('a currency Intl does not know falls back to the exact amount with its code', () => {
    expect(formatCompactMoney(2121.05, 'NOPE')).toBe(formatMoney(2121.05, 'NOPE'))
    expect(formatMoney(2121.05, 'NOPE')).toBe('2121.05 NOPE')
  })
})

describe('one module for pages and emails', () => {
  test('an instant on the store clock to the minute, from epoch ms or a Temporal.Instant', () => {
    const at = Temporal.Instant.from('2026-07-01T02:05:59.900Z')
    expect(formatStoreTime(at, 'America/New_York')).toBe('2026-06-30 22:05')
    expect(formatStoreTime(at.epochMilliseconds, 'America/New_York')).toBe('2026-06-30 22:05')
    expect(formatStoreTime(at, 'Europe/Berlin')).toBe('2026-07-01 04:05')
    expect(formatStoreTime(null, 'Europe/Berlin')).toBe('–')
    expect(formatStoreTimeWithZone(at, 'Asia/Kolkata')).toBe('2026-07-01 07:35 (Asia/Kolkata)')
  })

  test('money, counts and rates as both show them', () => {
    expect(formatMoney(1300.49, 'EUR')).toBe('€1,300.49')
    expect(formatMoney(1300.49, 'USD')).toBe('$1,300.49')
    expect(formatCount(1_234_567)).toBe('1,234,567')
    expect(formatPercent(0.02345)).toBe('2.3%')
  })
})
