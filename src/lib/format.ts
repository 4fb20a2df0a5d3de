// How pages and emails write numbers and instants (en-US, the store's zone and currency). Generic:
// it imports nothing, so views, emails and the domain (an email's subject) all share it.

/**
 * An instant (epoch ms or a Temporal.Instant) on a time zone's wall clock (the store's), to the
 * minute: `2026-11-26 01:00`; null (never happened) is a dash.
 */
export function formatStoreTime(at: number | Temporal.Instant | null, timeZone: string): string {
  if (at === null) return '–'
  const instant = typeof at === 'number' ? Temporal.Instant.fromEpochMilliseconds(at) : at
  const z = instant.toZonedDateTimeISO(timeZone)
  return `${z.toPlainDate()} ${String(z.hour).padStart(2, '0')}:${String(z.minute).padStart(2, '0')}`
}

/** `formatStoreTime` followed by the zone's name: `2026-11-26 01:00 (America/New_York)`. */
export function formatStoreTimeWithZone(at: number | Temporal.Instant, timeZone: string): string {
  return `${formatStoreTime(at, timeZone)} (${timeZone})`
}

/** Epoch ms as a machine-readable ISO instant (for `<time datetime>`). */
export function isoInstant(ms: number): string {
  return new Date(ms).toISOString()
}

/** An amount in a currency, e.g. `$2,143.55`. */
export function formatMoney(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount)
  } catch {
    return `${amount.toFixed(2)} ${currency}`
  }
}

/**
 * An amount short enough for a stat card: exact below 1,000 (`$860.10`), compact from there on
 * (`$2.1K`, `$1.2M`). Show the exact `formatMoney` next to it (a title, hidden text).
 */
export function formatCompactMoney(amount: number, currency: string): string {
  if (Math.abs(amount) < 1000) return formatMoney(amount, currency)
  try {
    return new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      notation: 'compact',
      maximumFractionDigits: 1,
    }).format(amount)
  } catch {
    return formatMoney(amount, currency)
  }
}

/** A count with thousands separators. */
export function formatCount(n: number): string {
  return new Intl.NumberFormat('en-US').format(n)
}

/** A 0–1 rate as a percentage with one decimal. */
export function formatPercent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`
}
