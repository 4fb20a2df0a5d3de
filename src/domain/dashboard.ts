import type { Database } from '../db/database.ts'
import { computeMetrics, type Metrics } from './metrics.ts'
import { dayRange, type Frequency, type Period, previousPeriod, storeDate } from './periods.ts'
import { readSettingsOn, type StoreSettings } from './settings.ts'

/** How many days the dashboard's chart shows. */
const CHART_DAYS = 14

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
  const settings = readSettingsOn(db, storeId)
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

/** True once any session or order is stored: the dashboard then shows figures, not the checklist. */
export function hasStoreData(db: Database, storeId: number): boolean {
  return (
    (
      db
        .query(
          `SELECT EXISTS (SELECT 1 FROM sessions WHERE store_id = ?1)
           OR EXISTS (SELECT 1 FROM orders WHERE store_id = ?1) AS found`,
        )
        .get(storeId) as { found: number }
    ).found === 1
  )
}

/** The getting-started checklist, each step ticked from what is saved and stored. */
export interface GettingStarted {
  /** API Status is Activated. */
  apiEnabled: boolean
  /** An active export key exists. */
  hasKey: boolean
  /** Sessions or orders are stored, or a Shopify webhook secret is set. */
  dataIn: boolean
  /** Notifications have an address (Recipient or store email)… */
  hasRecipient: boolean
  /** …and an SMTP server to go through. */
  smtpConfigured: boolean
}

export function gettingStarted(
  db: Database,
  storeId: number,
  settings: Pick<StoreSettings, 'api_enabled' | 'shopify_webhook_secret'> & {
    recipient: string
    smtpConfigured: boolean
  },
): GettingStarted {
  const key = db
    .query(
      `SELECT 1 FROM api_keys WHERE store_id = ? AND scope = 'export' AND revoked_at IS NULL LIMIT 1`,
    )
    .get(storeId)
  return {
    apiEnabled: settings.api_enabled,
    hasKey: key !== null,
    dataIn: hasStoreData(db, storeId) || settings.shopify_webhook_secret !== '',
    hasRecipient: settings.recipient !== '',
    smtpConfigured: settings.smtpConfigured,
  }
}
