/** Epoch ms as `YYYY-MM-DD HH:mm` in a time zone (the store's), or a dash. */
export function formatStoreTime(ms: number | null, timeZone: string): string {
  if (ms === null) return '–'
  const z = Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(timeZone)
  return `${z.toPlainDate()} ${String(z.hour).padStart(2, '0')}:${String(z.minute).padStart(2, '0')}`
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
