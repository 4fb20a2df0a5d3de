import { describe, expect, test } from 'bun:test'
import { InvalidInput } from '../../src/domain/errors.ts'
import {
  dayRange,
  isComplete,
  type Period,
  parseDate,
  periodContaining,
  periodJson,
  previousPeriod,
  storeDate,
  weekStartDate,
} from '../../src/domain/periods.ts'

const NY = 'America/New_York'
const BERLIN = 'Europe/Berlin'
const date = (d: string) => Temporal.PlainDate.from(d)
const at = (i: string) => Temporal.Instant.from(i)
const hours = (p: Period) => p.start.until(p.end).total('hours')
const days = (p: Period) => p.days.map(String)

describe('daily periods', () => {
  test('a plain day runs from midnight to midnight in the store time zone', () => {
    const p = periodContaining(date('2026-11-25'), 'daily', NY, 'monday')
    expect(periodJson(p)).toEqual({
      start: '2026-11-25T00:00:00-05:00',
      end: '2026-11-26T00:00:00-05:00',
      label: '2026-11-25',
      timezone: NY,
    })
    expect(p.frequency).toBe('daily')
    expect(days(p)).toEqual(['2026-11-25'])
    expect(hours(p)).toBe(24)
  })

  test('the 23-hour spring-forward day of New York is one whole day', () => {
    const p = periodContaining(date('2026-03-08'), 'daily', NY, 'monday')
    expect(periodJson(p)).toEqual({
      start: '2026-03-08T00:00:00-05:00',
      end: '2026-03-09T00:00:00-04:00',
      label: '2026-03-08',
      timezone: NY,
    })
    expect(hours(p)).toBe(23)
  })

  test('the 25-hour fall-back day of New York is one whole day', () => {
    const p = periodContaining(date('2026-11-01'), 'daily', NY, 'monday')
    expect(periodJson(p)).toEqual({
      start: '2026-11-01T00:00:00-04:00',
      end: '2026-11-02T00:00:00-05:00',
      label: '2026-11-01',
      timezone: NY,
    })
    expect(hours(p)).toBe(25)
  })

  test('the 23-hour spring-forward day of Berlin is one whole day', () => {
    const p = periodContaining(date('2026-03-29'), 'daily', BERLIN, 'monday')
    expect(periodJson(p)).toEqual({
      start: '2026-03-29T00:00:00+01:00',
      end: '2026-03-30T00:00:00+02:00',
      label: '2026-03-29',
      timezone: BERLIN,
    })
    expect(hours(p)).toBe(23)
  })

  test('the 25-hour fall-back day of Berlin is one whole day', () => {
    const p = periodContaining(date('2026-10-25'), 'daily', BERLIN, 'monday')
    expect(periodJson(p)).toEqual({
      start: '2026-10-25T00:00:00+02:00',
      end: '2026-10-26T00:00:00+01:00',
      label: '2026-10-25',
      timezone: BERLIN,
    })
    expect(hours(p)).toBe(25)
  })

  test('where DST skips midnight, the day starts at 01:00 and the day before is whole', () => {
    const skipped = periodContaining(date('2026-09-06'), 'daily', 'America/Santiago', 'monday')
    expect(periodJson(skipped).start).toBe('2026-09-06T01:00:00-03:00')
    expect(hours(skipped)).toBe(23)
    const before = periodContaining(date('2026-09-05'), 'daily', 'America/Santiago', 'monday')
    expect(periodJson(before).end).toBe('2026-09-06T01:00:00-03:00')
    expect(hours(before)).toBe(24)
  })

  test('UTC instants of the bounds', () => {
    const p = periodContaining(date('2026-11-01'), 'daily', NY, 'monday')
    expect(p.start.toInstant().toString()).toBe('2026-11-01T04:00:00Z')
    expect(p.end.toInstant().toString()).toBe('2026-11-02T05:00:00Z')
  })
})

describe('weekly periods', () => {
  test('a Monday week runs Monday to Sunday and is labelled first/last day', () => {
    const p = periodContaining(date('2026-11-19'), 'weekly', NY, 'monday')
    expect(periodJson(p)).toEqual({
      start: '2026-11-16T00:00:00-05:00',
      end: '2026-11-23T00:00:00-05:00',
      label: '2026-11-16/2026-11-22',
      timezone: NY,
    })
    expect(p.frequency).toBe('weekly')
    expect(days(p)).toEqual([
      '2026-11-16',
      '2026-11-17',
      '2026-11-18',
      '2026-11-19',
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
    ])
  })

  test('a Sunday week runs Sunday to Saturday', () => {
    const p = periodContaining(date('2026-11-19'), 'weekly', NY, 'sunday')
    expect(periodJson(p)).toEqual({
      start: '2026-11-15T00:00:00-05:00',
      end: '2026-11-22T00:00:00-05:00',
      label: '2026-11-15/2026-11-21',
      timezone: NY,
    })
  })

  test('the first and last day of a week belong to it', () => {
    for (const d of ['2026-11-16', '2026-11-22']) {
      expect(periodContaining(date(d), 'weekly', NY, 'monday').label).toBe('2026-11-16/2026-11-22')
    }
    for (const d of ['2026-11-15', '2026-11-21']) {
      expect(periodContaining(date(d), 'weekly', NY, 'sunday').label).toBe('2026-11-15/2026-11-21')
    }
  })

  test('weekStartDate for every weekday', () => {
    // 2026-11-16 is a Monday, 2026-11-22 a Sunday.
    const expectations: [string, string, string][] = [
      ['2026-11-16', '2026-11-16', '2026-11-15'],
      ['2026-11-17', '2026-11-16', '2026-11-15'],
      ['2026-11-21', '2026-11-16', '2026-11-15'],
      ['2026-11-22', '2026-11-16', '2026-11-22'],
    ]
    for (const [d, monday, sunday] of expectations) {
      expect(String(weekStartDate(date(d), 'monday'))).toBe(monday)
      expect(String(weekStartDate(date(d), 'sunday'))).toBe(sunday)
    }
  })

  test('a week holding the spring-forward day lasts 167 hours, the fall-back one 169', () => {
    const spring = periodContaining(date('2026-03-08'), 'weekly', NY, 'monday')
    expect(periodJson(spring)).toEqual({
      start: '2026-03-02T00:00:00-05:00',
      end: '2026-03-09T00:00:00-04:00',
      label: '2026-03-02/2026-03-08',
      timezone: NY,
    })
    expect(hours(spring)).toBe(167)
    const fall = periodContaining(date('2026-10-25'), 'weekly', BERLIN, 'sunday')
    expect(periodJson(fall)).toEqual({
      start: '2026-10-25T00:00:00+02:00',
      end: '2026-11-01T00:00:00+01:00',
      label: '2026-10-25/2026-10-31',
      timezone: BERLIN,
    })
    expect(hours(fall)).toBe(169)
  })
})

describe('previousPeriod', () => {
  test('just after midnight store time, daily is yesterday', () => {
    // 2026-11-26T00:00:01-05:00
    const p = previousPeriod(at('2026-11-26T05:00:01Z'), 'daily', NY, 'monday')
    expect(p.label).toBe('2026-11-25')
    expect(periodJson(p).start).toBe('2026-11-25T00:00:00-05:00')
    expect(periodJson(p).end).toBe('2026-11-26T00:00:00-05:00')
  })

  test('exactly at midnight store time, the day that just ended is the previous one', () => {
    const p = previousPeriod(at('2026-11-26T05:00:00Z'), 'daily', NY, 'monday')
    expect(p.label).toBe('2026-11-25')
    expect(isComplete(p, at('2026-11-26T05:00:00Z'))).toBe(true)
  })

  test('just before midnight store time, it is still the day before yesterday', () => {
    // 2026-11-25T23:59:59-05:00, though UTC is already on the 26th
    const p = previousPeriod(at('2026-11-26T04:59:59Z'), 'daily', NY, 'monday')
    expect(p.label).toBe('2026-11-24')
  })

  test('the store time zone decides the day, not UTC', () => {
    const now = at('2026-11-26T03:00:00Z')
    expect(previousPeriod(now, 'daily', 'UTC', 'monday').label).toBe('2026-11-25')
    expect(previousPeriod(now, 'daily', NY, 'monday').label).toBe('2026-11-24')
    expect(previousPeriod(now, 'daily', 'Asia/Tokyo', 'monday').label).toBe('2026-11-25')
  })

  test('the day after a DST change gives the whole 23- or 25-hour day', () => {
    const spring = previousPeriod(at('2026-03-09T04:00:30Z'), 'daily', NY, 'monday')
    expect(spring.label).toBe('2026-03-08')
    expect(hours(spring)).toBe(23)
    const fall = previousPeriod(at('2026-10-25T23:30:00Z'), 'daily', BERLIN, 'monday')
    expect(fall.label).toBe('2026-10-25')
    expect(hours(fall)).toBe(25)
  })

  test('weekly: the previous full week, also on the first day of a week', () => {
    // Monday 2026-11-23 00:00:01 New York
    const monday = previousPeriod(at('2026-11-23T05:00:01Z'), 'weekly', NY, 'monday')
    expect(monday.label).toBe('2026-11-16/2026-11-22')
    // Sunday 2026-11-22 23:59:59 New York: the week 16–22 is not over yet
    const sundayNight = previousPeriod(at('2026-11-23T04:59:59Z'), 'weekly', NY, 'monday')
    expect(sundayNight.label).toBe('2026-11-09/2026-11-15')
    // the same instant with Sunday weeks: the week 15–21 is over
    const sundayWeeks = previousPeriod(at('2026-11-23T04:59:59Z'), 'weekly', NY, 'sunday')
    expect(sundayWeeks.label).toBe('2026-11-15/2026-11-21')
  })

  test('a previous period is always complete at the time it is asked for', () => {
    for (const now of ['2026-03-08T07:30:00Z', '2026-11-01T06:00:00Z', '2026-12-31T23:59:59Z']) {
      for (const f of ['daily', 'weekly'] as const) {
        const p = previousPeriod(at(now), f, NY, 'sunday')
        expect(isComplete(p, at(now))).toBe(true)
        expect(Temporal.Instant.compare(p.end.toInstant(), at(now))).toBeLessThanOrEqual(0)
      }
    }
  })

  test('isComplete is false until the end instant', () => {
    const p = periodContaining(date('2026-11-25'), 'daily', NY, 'monday')
    expect(isComplete(p, at('2026-11-26T04:59:59.999Z'))).toBe(false)
    expect(isComplete(p, at('2026-11-26T05:00:00Z'))).toBe(true)
  })
})

describe('dayRange and storeDate', () => {
  test('a range of days is labelled from/to and lists every day', () => {
    const p = dayRange(date('2026-10-31'), date('2026-11-02'), NY)
    expect(periodJson(p)).toEqual({
      start: '2026-10-31T00:00:00-04:00',
      end: '2026-11-03T00:00:00-05:00',
      label: '2026-10-31/2026-11-02',
      timezone: NY,
    })
    expect(days(p)).toEqual(['2026-10-31', '2026-11-01', '2026-11-02'])
    expect(hours(p)).toBe(73)
  })

  test('from after to is refused', () => {
    expect(() => dayRange(date('2026-11-02'), date('2026-11-01'), NY)).toThrow(
      new InvalidInput('from (2026-11-02) is after to (2026-11-01)'),
    )
  })

  test('storeDate at 23:59:59 and 00:00:00 store time', () => {
    expect(String(storeDate(at('2026-11-26T04:59:59Z'), NY))).toBe('2026-11-25')
    expect(String(storeDate(at('2026-11-26T05:00:00Z'), NY))).toBe('2026-11-26')
    expect(String(storeDate(at('2026-10-25T21:59:59Z'), BERLIN))).toBe('2026-10-25')
    expect(String(storeDate(at('2026-10-25T23:00:00Z'), BERLIN))).toBe('2026-10-26')
  })
})

describe('parseDate', () => {
  test('accepts a calendar date', () => {
    expect(String(parseDate('2026-02-28', 'date'))).toBe('2026-02-28')
    expect(String(parseDate('2028-02-29', 'date'))).toBe('2028-02-29')
  })

  test('refuses other shapes, naming the field and the value', () => {
    expect(() => parseDate('2026-1-5', 'date')).toThrow(
      new InvalidInput('date must be a date like 2026-11-25, got "2026-1-5"'),
    )
    expect(() => parseDate('2026-11-25T00:00:00Z', '--from')).toThrow(
      new InvalidInput('--from must be a date like 2026-11-25, got "2026-11-25T00:00:00Z"'),
    )
    expect(() => parseDate('', 'date')).toThrow(
      new InvalidInput('date must be a date like 2026-11-25, got ""'),
    )
  })

  test('refuses dates that do not exist', () => {
    expect(() => parseDate('2026-02-29', 'date')).toThrow(
      new InvalidInput('date is not a calendar date: 2026-02-29'),
    )
    expect(() => parseDate('2026-13-01', 'date')).toThrow(
      new InvalidInput('date is not a calendar date: 2026-13-01'),
    )
  })

  test('the error is an InvalidInput (400)', () => {
    try {
      parseDate('nope', 'date')
      throw new Error('no error')
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidInput)
      expect((err as InvalidInput).status).toBe(400)
    }
  })
})
