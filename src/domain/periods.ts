import { InvalidInput } from './errors.ts'

export type Frequency = 'daily' | 'weekly'
export type WeekStart = 'monday' | 'sunday'

/** A half-open span of whole store days, [start, end), in the store's time zone. */
export interface Period {
  frequency: Frequency | 'range'
  timeZone: string
  start: Temporal.ZonedDateTime
  end: Temporal.ZonedDateTime
  /** `2026-11-25` for a day, `2026-11-16/2026-11-22` for a week or a range. */
  label: string
  /** The calendar days the period covers, in order. */
  days: Temporal.PlainDate[]
}

/** The period as the sync API prints it. */
export interface PeriodJson {
  start: string
  end: string
  label: string
  timezone: string
}

/** Midnight of a calendar day in a time zone (01:00 where DST skips midnight). */
export function startOfDay(date: Temporal.PlainDate, timeZone: string): Temporal.ZonedDateTime {
  return date.toZonedDateTime({ timeZone })
}

/** The store-local calendar date of an instant. */
export function storeDate(instant: Temporal.Instant, timeZone: string): Temporal.PlainDate {
  return instant.toZonedDateTimeISO(timeZone).toPlainDate()
}

/** The whole days from `from` to `to`, both included, as one period. */
export function dayRange(
  from: Temporal.PlainDate,
  to: Temporal.PlainDate,
  timeZone: string,
  frequency: Period['frequency'] = 'range',
): Period {
  if (Temporal.PlainDate.compare(from, to) > 0) {
    throw new InvalidInput(`from (${from}) is after to (${to})`)
  }
  const days: Temporal.PlainDate[] = []
  for (let d = from; Temporal.PlainDate.compare(d, to) <= 0; d = d.add({ days: 1 })) days.push(d)
  return {
    frequency,
    timeZone,
    start: startOfDay(from, timeZone),
    end: startOfDay(to.add({ days: 1 }), timeZone),
    label: from.equals(to) ? from.toString() : `${from}/${to}`,
    days,
  }
}

/** The first day of the week that holds `date`. */
export function weekStartDate(date: Temporal.PlainDate, weekStart: WeekStart): Temporal.PlainDate {
  // dayOfWeek: Monday = 1 … Sunday = 7
  const back = weekStart === 'monday' ? date.dayOfWeek - 1 : date.dayOfWeek % 7
  return date.subtract({ days: back })
}

/** The daily or weekly period that contains a store-local date. */
export function periodContaining(
  date: Temporal.PlainDate,
  frequency: Frequency,
  timeZone: string,
  weekStart: WeekStart,
): Period {
  if (frequency === 'daily') return dayRange(date, date, timeZone, 'daily')
  const first = weekStartDate(date, weekStart)
  return dayRange(first, first.add({ days: 6 }), timeZone, 'weekly')
}

/** The last period that is complete at `now`: yesterday, or the previous full week. */
export function previousPeriod(
  now: Temporal.Instant,
  frequency: Frequency,
  timeZone: string,
  weekStart: WeekStart,
): Period {
  // The answer only changes when the current period ends: remember it until then.
  const key = `${timeZone}|${frequency}|${weekStart}`
  const ms = now.epochMilliseconds
  const known = previousPeriods.get(key)
  if (known && ms >= known.from && ms < known.until) return known.period
  const current = periodContaining(storeDate(now, timeZone), frequency, timeZone, weekStart)
  const period = periodContaining(
    current.days[0]!.subtract({ days: 1 }),
    frequency,
    timeZone,
    weekStart,
  )
  Object.freeze(period.days)
  if (previousPeriods.size > 100) previousPeriods.clear()
  previousPeriods.set(key, {
    from: current.start.epochMilliseconds,
    until: current.end.epochMilliseconds,
    period: Object.freeze(period),
  })
  return period
}

const previousPeriods = new Map<string, { from: number; until: number; period: Period }>()

/** True once the period's end has passed. */
export function isComplete(period: Period, now: Temporal.Instant): boolean {
  return Temporal.Instant.compare(period.end.toInstant(), now) <= 0
}

/** An ISO time with the store's offset and no bracketed zone name. */
function formatZoned(z: Temporal.ZonedDateTime): string {
  return z.toString({ timeZoneName: 'never', smallestUnit: 'second' })
}

export function periodJson(period: Period): PeriodJson {
  return {
    start: formatZoned(period.start),
    end: formatZoned(period.end),
    label: period.label,
    timezone: period.timeZone,
  }
}

/** Parses a `YYYY-MM-DD` date, naming the field in the error. */
export function parseDate(value: string, field: string): Temporal.PlainDate {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw new InvalidInput(`${field} must be a date like 2026-11-25, got ${JSON.stringify(value)}`)
  }
  try {
    return Temporal.PlainDate.from(value, { overflow: 'reject' })
  } catch {
    throw new InvalidInput(`${field} is not a calendar date: ${value}`)
  }
}
