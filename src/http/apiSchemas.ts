// The zod schemas of what the `/apiv1` endpoints accept: the handlers validate requests with
// them, and /openapi.json is generated from these same objects (never written out twice).
import { z } from 'zod'
import { InvalidInput } from '../domain/errors.ts'

const FREQUENCY = z.enum(['daily', 'weekly'], 'frequency must be "daily" or "weekly"')
const COMPARE = z.enum(
  ['previous_period', 'previous_year'],
  'compare must be "previous_period" or "previous_year"',
)
const DATE = /^\d{4}-\d{2}-\d{2}$/

/** The optional JSON body of `POST /apiv1/analytics/sync`. */
export const syncBodySchema = z
  .strictObject({
    frequency: FREQUENCY.optional().describe(
      'When present it must equal the saved sync frequency (else 409).',
    ),
    date: z
      .string('date must be a string like "2026-11-25"')
      .optional()
      .describe(
        'YYYY-MM-DD: the period of the saved frequency that contains this store-local date (it must be complete). Default: the last completed period.',
      ),
    compare: COMPARE.optional().describe(
      'Adds a `comparison` object: the same number of days just before, or the same weekdays 52 weeks earlier.',
    ),
  })
  .describe('Every field is optional; an empty body (or none) asks for the last completed period.')

/** The query of `GET /apiv1/analytics/report`. */
export const reportQuerySchema = z.strictObject({
  from: z
    .string()
    .regex(DATE, 'from must be a date like 2026-11-01')
    .optional()
    .describe(
      'First store day of the range, inclusive (YYYY-MM-DD). Default: 29 days before `to`.',
    ),
  to: z
    .string()
    .regex(DATE, 'to must be a date like 2026-11-30')
    .optional()
    .describe(
      'Last store day of the range, inclusive (YYYY-MM-DD); today counts so far. Default: yesterday (or `from`, when `from` is today). At most 400 days from `from`.',
    ),
  format: z
    .enum(['json', 'csv', 'ndjson'], 'format must be "json", "csv" or "ndjson"')
    .optional()
    .describe('Default json.'),
  compare: COMPARE.optional().describe(
    'Adds `comparison` (JSON): the same number of days just before, or the same weekdays 52 weeks (364 days) earlier. In rows (CSV, NDJSON, JSON `rows`): `previous_<column>` beside each column, day rows paired by position (with `previous_date`), other rows by value.',
  ),
  dimension: z
    .enum(
      ['day', 'device', 'source', 'landing_page'],
      'dimension must be "day", "device", "source" or "landing_page"',
    )
    .optional()
    .describe(
      'One row per value of this dimension. Default: day for csv and ndjson; none for json.',
    ),
  token: z
    .string()
    .optional()
    .describe(
      'A key of scope `report`, for links that cannot send headers (Google Sheets IMPORTDATA). Only report keys are accepted here.',
    ),
})

/**
 * The 400 an `/apiv1` endpoint answers for what zod refused: its first issue, an unknown name
 * listed with the names the schema allows (`Unknown field: x (allowed: frequency, date, compare)`).
 */
export function refusedInput(
  error: z.ZodError,
  what: 'field' | 'parameter',
  schema: z.ZodObject,
): InvalidInput {
  const issue = error.issues[0]!
  if (issue.code !== 'unrecognized_keys') return new InvalidInput(issue.message)
  const names = `${what}${issue.keys.length > 1 ? 's' : ''}`
  const allowed = Object.keys(schema.shape).join(', ')
  return new InvalidInput(`Unknown ${names}: ${issue.keys.join(', ')} (allowed: ${allowed})`)
}
