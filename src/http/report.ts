import { Elysia } from 'elysia'
import { isBusy } from '../db/database.ts'
import { AppError, Forbidden, InvalidInput } from '../domain/errors.ts'
import { parseDate } from '../domain/periods.ts'
import {
  buildReport,
  type Report,
  type ReportFormat,
  type ReportRequest,
  reportCsv,
  reportFilename,
  reportJson,
  reportNdjson,
} from '../domain/report.ts'
import { cachedSettings, readSettings } from '../domain/settings.ts'
import type { Store } from '../domain/stores.ts'
import { refusedInput, reportQuerySchema } from './apiSchemas.ts'
import { adminAuth } from './auth.ts'
import { type AddressSource, type AppContext, clientAddress } from './context.ts'
import { errorResponse } from './errors.ts'
import { ApiCall, throttledKey, throttledSecret } from './sync.ts'

/** The path of the report API. */
const REPORT_PATH = '/apiv1/analytics/report'

/** The report's parameters, as the schema names them. */
const PARAMETERS = Object.keys(reportQuerySchema.shape)

/** A report could not be computed; the API answers 500 `Report failed`. */
class ReportFailed extends AppError {
  constructor(override readonly cause: unknown) {
    super(500, 'Report failed')
  }
}

/** What a report request asks for, checked against `reportQuerySchema`. */
export type ReportQuery = ReportRequest & { format: ReportFormat }

/**
 * Parses a report's query string, naming what is wrong: an unknown or repeated parameter, a bad
 * value, a date that is no calendar date. The range itself is checked by `reportPeriod`.
 */
function parseReportQuery(params: URLSearchParams): ReportQuery {
  const query: Record<string, string> = {}
  for (const [name, value] of params) {
    if (name in query && PARAMETERS.includes(name)) {
      throw new InvalidInput(`${name} is given more than once`)
    }
    query[name] = value
  }
  const parsed = reportQuerySchema.safeParse(query)
  if (!parsed.success) throw refusedInput(parsed.error, 'parameter', reportQuerySchema)
  const { from, to, format, compare, dimension } = parsed.data
  return {
    from: from === undefined ? undefined : parseDate(from, 'from'),
    to: to === undefined ? undefined : parseDate(to, 'to'),
    format: format ?? 'json',
    compare,
    dimension,
  }
}

/** A report as the response its format asks for. */
function reportResponse(report: Report, store: Store, format: ReportFormat): Response {
  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  if (format === 'csv') {
    return new Response(reportCsv(report), {
      headers: {
        ...headers,
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${reportFilename(store, report.period, 'csv')}"`,
      },
    })
  }
  if (format === 'ndjson') {
    return new Response(reportNdjson(report), {
      headers: { ...headers, 'content-type': 'application/x-ndjson; charset=utf-8' },
    })
  }
  return new Response(reportJson(report), {
    headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
  })
}

/**
 * `GET /apiv1/analytics/report`: a key of scope export or report in the sync API's headers, or
 * `?token=` of scope report only (a URL is easily shared: it never carries an export key); the
 * API status; the query; the report of the key's store. Logged in the call log like the sync.
 */
export function reportRoutes(ctx: AppContext) {
  const { clock } = ctx

  const handle = async (request: Request, server: AddressSource) => {
    const address = clientAddress(ctx, request, server)
    const call = new ApiCall(ctx, address)
    const finish = (response: Response, error: string | null) => call.finish(response, error)
    try {
      const params = new URL(request.url).searchParams
      const token = params.get('token')
      const checked =
        token === null
          ? await throttledKey(ctx, address, request.headers, ['export', 'report'], clock)
          : await throttledSecret(ctx, address, token.trim() || null, 'report', clock)
      call.keyId = checked.key.id
      call.store = checked.store
      const settings =
        cachedSettings(ctx.data, checked.store) ?? (await readSettings(ctx.data, checked.store))
      if (!settings.api_enabled) throw new Forbidden('API is deactivated')
      const query = parseReportQuery(params)
      const report = await buildReport(ctx.data, checked.store, settings, query, clock)
      return finish(reportResponse(report, checked.store, query.format), null)
    } catch (caught) {
      const err = caught instanceof AppError || isBusy(caught) ? caught : new ReportFailed(caught)
      if (err instanceof ReportFailed) console.error('Report failed:', err.cause)
      return finish(errorResponse(err), (err as Error).message)
    }
  }

  return new Elysia({ name: 'report' }).get(
    REPORT_PATH,
    ({ request, server }) => handle(request, server),
    { parse: 'none' },
  )
}

/**
 * `GET <base>/settings/report.csv`: the settings page's download, for the admin's store; the same
 * report as the API's CSV (from, to, dimension as the API takes them; the API status aside).
 */
export function reportSettingsRoutes(ctx: AppContext, prefix: string) {
  return new Elysia({ name: 'report-settings', seed: prefix, prefix })
    .use(adminAuth(ctx))
    .guard({ store: true })
    .get('/settings/report.csv', async ({ request, scope: { store } }) => {
      const params = new URL(request.url).searchParams
      const query = parseReportQuery(params)
      const settings = await readSettings(ctx.data, store)
      const report = await buildReport(
        ctx.data,
        store,
        settings,
        { ...query, format: 'csv' },
        ctx.clock,
      )
      return reportResponse(report, store, 'csv')
    })
}
