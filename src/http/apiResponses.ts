// The zod schemas of what the `/apiv1` endpoints answer: /openapi.json documents them, and
// test/http/openapi.test.ts checks real answers of the running server against that document.
import { z } from 'zod'
import type { ImportSummary } from '../domain/ingest/summary.ts'
import type { Metrics } from '../domain/metrics.ts'
import type { PeriodJson } from '../domain/periods.ts'
import type { WebhookOutcome } from '../domain/webhooks.ts'

const count = z.int().min(0)
const money = z.number().min(0).describe('In the store currency, 2 decimals.')
const rate = z.number().min(0).max(1).describe('0 to 1, 4 decimals.')

/** The API's error body: every refusal and failure under /apiv1 that has a body. */
export const errorBodySchema = z
  .strictObject({ success: z.literal(false), error: z.string().describe('What is wrong.') })
  .meta({ title: 'Error', examples: [{ success: false, error: 'Invalid API key' }] })

/** A period: its bounds in the store's timezone (end exclusive), label and timezone. */
const periodSchema = z
  .strictObject({
    start: z.string().describe('ISO 8601 with the store offset, inclusive.'),
    end: z.string().describe('ISO 8601 with the store offset, exclusive.'),
    label: z.string().describe('`2026-11-25` for a day, `2026-11-23/2026-11-29` for a range.'),
    timezone: z.string().describe('The store timezone (IANA name).'),
  })
  .meta({
    examples: [
      {
        start: '2026-11-25T00:00:00-05:00',
        end: '2026-11-26T00:00:00-05:00',
        label: '2026-11-25',
        timezone: 'America/New_York',
      },
    ],
  })

/** The `data` object of a sync: every metric of DESIGN.md "Metric definitions". */
const metricsSchema = z
  .strictObject({
    total_visitors: count,
    new_visitors: count,
    returning_visitors: count,
    total_sessions: count,
    total_pageviews: count,
    bounce_rate: rate,
    avg_session_duration_seconds: z.number().min(0).describe('1 decimal.'),
    successful_orders: count,
    total_revenue: money,
    average_order_value: money,
    conversion_rate: rate,
    abandoned_carts: count,
    abandoned_checkouts: count,
    funnel: z.strictObject({
      sessions: count,
      viewed_product: count,
      added_to_cart: count,
      reached_checkout: count,
      ordered: count,
    }),
    devices: z.strictObject({ desktop: count, mobile: count, tablet: count }),
    sources: z.strictObject({ direct: count, organic: count, paid: count, referral: count }),
    top_landing_pages: z
      .array(z.strictObject({ path: z.string().meta({ examples: ['/'] }), sessions: count }))
      .max(10)
      .describe('The 10 landing paths with the most sessions (ties by path).'),
    daily: z
      .array(
        z.strictObject({
          date: z.string().meta({ examples: ['2026-11-25'] }),
          visitors: count,
          sessions: count,
          successful_orders: count,
          revenue: money,
        }),
      )
      .describe('One row per calendar day of the period, every day present.'),
  })
  .meta({ title: 'Metrics' })

/** `compare`: the same metrics for the period compared with. */
const comparisonSchema = z
  .strictObject({ period: periodSchema, data: metricsSchema })
  .describe('Only when `compare` was asked for.')

/** The success body of `POST /apiv1/analytics/sync`. */
export const syncSuccessSchema = z
  .strictObject({
    success: z.literal(true),
    message: z.literal('Sync successful'),
    frequency: z.enum(['daily', 'weekly']),
    period: periodSchema,
    synced_at: z
      .string()
      .describe('When the period was computed (UTC, ISO 8601).')
      .meta({ examples: ['2026-11-26T06:00:01.123Z'] }),
    currency: z
      .string()
      .describe('ISO 4217.')
      .meta({ examples: ['USD'] }),
    data: metricsSchema,
    comparison: comparisonSchema.optional(),
  })
  .meta({ title: 'SyncSuccess' })

/**
 * One row of a report as CSV or NDJSON (and JSON `rows`): its dimension's value, then the
 * figures; with `compare`, a `previous_<column>` beside each (`previous_date` for day rows).
 */
export const reportRowSchema = z
  .looseObject({
    date: z.string().optional().describe('With dimension=day (the default).'),
    device: z.string().optional().describe('With dimension=device.'),
    source: z.string().optional().describe('With dimension=source.'),
    landing_page: z.string().optional().describe('With dimension=landing_page.'),
    visitors: count,
    sessions: count,
    pageviews: count,
    bounce_rate: rate,
    avg_session_duration_seconds: z.number().min(0),
    successful_orders: count,
    revenue: money,
    conversion_rate: rate,
  })
  .meta({ title: 'ReportRow' })

/** The JSON body of `GET /apiv1/analytics/report` (DESIGN.md "Report API"). */
export const reportJsonSchema = z
  .strictObject({
    success: z.literal(true),
    period: periodSchema,
    currency: z.string().describe('ISO 4217.'),
    data: metricsSchema,
    comparison: comparisonSchema.optional(),
    dimension: z
      .enum(['day', 'device', 'source', 'landing_page'])
      .optional()
      .describe('Present when `dimension` was asked for.'),
    rows: z
      .array(reportRowSchema)
      .optional()
      .describe('With `dimension`: one row per value, as the CSV has them.'),
  })
  .meta({ title: 'Report' })

const importCounts = {
  kind: z.enum(['sessions', 'orders']),
  format: z.enum(['ndjson', 'csv']).describe('csv: a Shopify orders export (orders only).'),
  inserted: count.describe('Records new to the store.'),
  updated: count.describe('Records sent before (same id), updated.'),
  rejected: count.describe('Lines refused.'),
}

/** `POST /apiv1/import/…` when every line was taken. */
export const importResultSchema = z
  .strictObject({ success: z.literal(true), ...importCounts, errors: z.array(z.never()).max(0) })
  .meta({ title: 'ImportResult' })

/** `POST /apiv1/import/…` when some lines were refused (the others were imported). */
export const importRejectedSchema = z
  .strictObject({
    success: z.literal(false),
    error: z.string(),
    ...importCounts,
    errors: z
      .array(z.strictObject({ line: z.int().min(1), error: z.string() }))
      .describe('The first 100 refused lines, with their reasons; `rejected` counts them all.'),
  })
  .meta({ title: 'ImportRejected' })

/** A Shopify order webhook delivery, taken. */
export const webhookResultSchema = z
  .strictObject({
    success: z.literal(true),
    result: z
      .enum(['applied', 'duplicate', 'ignored', 'stale'])
      .describe(
        'applied: the order was saved; duplicate: this X-Shopify-Webhook-Id was seen before; ignored: not an order topic; stale: older than the order already saved.',
      ),
    order_id: z.string().nullable().describe('null for an ignored topic.'),
  })
  .meta({ title: 'WebhookResult' })

// The schemas say what the code sends: a field added to one side and not the other fails tsc.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const typesAgree: [
  Same<z.output<typeof metricsSchema>, Metrics>,
  Same<z.output<typeof periodSchema>, PeriodJson>,
  Same<z.output<typeof webhookResultSchema>['result'], WebhookOutcome>,
  Same<z.output<typeof importRejectedSchema>['errors'], ImportSummary['errors']>,
] = [true, true, true, true]
void typesAgree
