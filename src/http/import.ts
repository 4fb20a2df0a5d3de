import { Elysia } from 'elysia'
import { importOrders } from '../domain/csv.ts'
import { NotFound } from '../domain/errors.ts'
import { importNdjson } from '../domain/ingest/ndjsonImport.ts'
import type { ImportSummary } from '../domain/ingest/summary.ts'
import { type AppContext, clientAddress, json } from './context.ts'
import { throttledKey } from './sync.ts'

/** The answer to an import: the line-numbered summary; 422 when some lines were rejected. */
function summaryResponse(kind: string, format: string, s: ImportSummary): Response {
  const body = { kind, format, inserted: s.inserted, updated: s.updated, rejected: s.rejected }
  if (s.rejected === 0) return json({ success: true, ...body, errors: [] })
  return json(
    {
      success: false,
      error: `${s.rejected} line${s.rejected === 1 ? '' : 's'} rejected; the other lines were imported`,
      ...body,
      errors: s.errors,
    },
    422,
  )
}

/**
 * `POST /apiv1/import/sessions|orders`: NDJSON (orders also Shopify's CSV export) streamed into
 * the store with an `ingest` key; answers once every accepted line is committed.
 */
export function importRoutes(ctx: AppContext) {
  return new Elysia({ name: 'import', prefix: '/apiv1/import' }).post(
    '/:kind',
    async ({ request, params, server }) => {
      const address = clientAddress(ctx, request, server)
      const kind = params.kind
      if (kind !== 'sessions' && kind !== 'orders') {
        throw new NotFound('Import kind must be sessions or orders')
      }
      // The ingest key's store is the one the records go to.
      const { store } = await throttledKey(ctx, address, request.headers, 'ingest', ctx.clock)
      const body = request.body ?? new Blob([]).stream()
      if (kind === 'orders') {
        const { format, summary } = await importOrders(ctx.data, store, body, ctx.clock)
        return summaryResponse(kind, format, summary)
      }
      const summary = await importNdjson(ctx.data, store, kind, body, ctx.clock)
      return summaryResponse(kind, 'ndjson', summary)
    },
    { parse: 'none' },
  )
}
