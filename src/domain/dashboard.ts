import type { Database } from '../db/database.ts'
import { computeMetrics, type Metrics } from './metrics.ts'
import { dayRange, type Frequency, type Period, previousPeriod, storeDate } from './periods.ts'
import { readSettings } from './settings.ts'

/** How many days the dashboard's chart shows. */
export const CHART_DAYS = 14

/** What the settings page's dashboard shows. */
export interface Dashboard {
  frequency: Frequency
  currency: string
  /** The last completed period of the saved frequency: what the sync API returns now. */
  period: Period
  metrics: Metrics
  /** The last 14 complete days, oldest first. */
  days: Metrics['daily']
}

/** The last completed period's figures and the last 14 days, in the store's time zone. */
export function dashboardData(db: Database, storeId: number, now: Temporal.Instant): Dashboard {
  const settings = readSettings(db, storeId)
  const { timezone, week_start, sync_frequency } = settings
  const period = previousPeriod(now, sync_frequency, timezone, week_start)
  const yesterday = storeDate(now, timezone).subtract({ days: 1 })
  const chart = dayRange(yesterday.subtract({ days: CHART_DAYS - 1 }), yesterday, timezone)
  return {
    frequency: sync_frequency,
    currency: settings.currency,
    period,
    metrics: computeMetrics(db, storeId, period),
    days: computeMetrics(db, storeId, chart).daily,
  }
}
