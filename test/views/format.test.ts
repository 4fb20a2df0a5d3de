import { describe, expect, test } from 'bun:test'
import { formatCompactMoney, formatMoney } from '../../views/format.ts'

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
