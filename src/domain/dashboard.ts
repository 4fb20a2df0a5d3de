import { hasExportKey, hasStoreData as storeHasData } from '../db/dashboard.ts'
import type { Data } from '../db/data.ts'
import { computeMetrics, type Metrics } from './metrics.ts'
import { dayRange, type Frequency, type Period, previousPeriod, storeDate } from './periods.ts'
import { readSettings, type StoreSettings } from './settings.ts'
import type { Store } from './stores.ts'

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
export async function dashboardData(
  data: Data,
  store: Store,
  now: Temporal.Instant,
): Promise<Dashboard> {
  const settings = await readSettings(data, store)
  const { timezone, week_start, sync_frequency } = settings
  const period = previousPeriod(now, sync_frequency, timezone, week_start)
  const yesterday = storeDate(now, timezone).subtract({ days: 1 })
  const chart = dayRange(yesterday.subtract({ days: CHART_DAYS - 1 }), yesterday, timezone)
  return {
    frequency: sync_frequency,
    currency: settings.currency,
    period,
    metrics: await computeMetrics(data, store, period),
    days: (await computeMetrics(data, store, chart)).daily,
  }
}

/** True once any session or order is stored: the dashboard then shows figures, not the checklist. */
export function hasStoreData(data: Data, store: Store): Promise<boolean> {
  return storeHasData(data, store.id)
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

export async function gettingStarted(
  data: Data,
  store: Store,
  settings: Pick<StoreSettings, 'api_enabled' | 'shopify_webhook_secret'> & {
    recipient: string
    smtpConfigured: boolean
  },
  now: number,
): Promise<GettingStarted> {
  return {
    apiEnabled: settings.api_enabled,
    hasKey: await hasExportKey(data, store.id, now),
    dataIn: (await hasStoreData(data, store)) || settings.shopify_webhook_secret !== '',
    hasRecipient: settings.recipient !== '',
    smtpConfigured: settings.smtpConfigured,
  }
}

/** The headline figures of one period, as the `/stores` page shows them. */
export interface Headline {
  sessions: number
  orders: number
  revenue: number
  conversion: number
}

/** A store's row on `/stores`: its last completed period beside the one before. */
export interface StoreSummary {
  name: string
  currency: string
  frequency: Frequency
  periodLabel: string
  timeZone: string
  current: Headline
  previous: Headline
}

function headline(m: Metrics): Headline {
  return {
    sessions: m.total_sessions,
    orders: m.successful_orders,
    revenue: m.total_revenue,
    conversion: m.conversion_rate,
  }
}

/**
 * The last completed period of the store's saved frequency (what its sync API answers now),
 * in its own time zone, and the period before it, for the trend.
 */
export async function storeSummary(
  data: Data,
  store: Store,
  now: Temporal.Instant,
): Promise<StoreSummary> {
  const settings = await readSettings(data, store)
  const { timezone, week_start, sync_frequency } = settings
  const period = previousPeriod(now, sync_frequency, timezone, week_start)
  const before = previousPeriod(period.start.toInstant(), sync_frequency, timezone, week_start)
  return {
    name: settings.store_name || store.slug,
    currency: settings.currency,
    frequency: sync_frequency,
    periodLabel: period.label,
    timeZone: timezone,
    current: headline(await computeMetrics(data, store, period)),
    previous: headline(await computeMetrics(data, store, before)),
  }
}
