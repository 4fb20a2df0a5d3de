// `GET /openapi.json` and `GET /docs`: the OpenAPI 3.1 document of every `/apiv1` endpoint, built
// from the zod schemas that validate the requests (apiSchemas.ts, records.ts, collect.ts,
// webhooks.ts) and those of the answers (apiResponses.ts), never from a copy written by hand.
import { html } from '@elysiajs/html'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { DocsPage } from '../../views/docs.tsx'
import { formatBytes, PayloadTooLarge } from '../domain/errors.ts'
import { orderInput, sessionInput } from '../domain/records.ts'
import { shopifyOrder } from '../domain/webhooks.ts'
import { VERSION } from '../version.ts'
import {
  errorBodySchema,
  importRejectedSchema,
  importResultSchema,
  reportJsonSchema,
  reportRowSchema,
  syncSuccessSchema,
  webhookResultSchema,
} from './apiResponses.ts'
import { reportQuerySchema, syncBodySchema } from './apiSchemas.ts'
import { COLLECT_PATH, collectBody } from './collect.ts'
import type { AppContext } from './context.ts'
import { BUSY_MESSAGE } from './errors.ts'
import { HTML_CONTENT_TYPE } from './html.ts'
import { bodyLimitFor, MAX_REQUEST_BODY_BYTES } from './security.ts'
import { SYNC_PATH } from './sync.ts'

/** A JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) or any other JSON object of the document. */
export type JsonObject = { [key: string]: unknown }

export interface OpenApiParameter {
  name: string
  in: 'query' | 'header' | 'path'
  required?: boolean
  description?: string
  schema: JsonObject
}

export interface OpenApiMedia {
  schema: JsonObject
  example?: unknown
}

export interface OpenApiResponse {
  description: string
  headers?: Record<string, { description: string; schema: JsonObject }>
  content?: Record<string, OpenApiMedia>
}

export interface OpenApiOperation {
  operationId: string
  summary: string
  description: string
  tags: string[]
  security: Record<string, string[]>[]
  parameters?: OpenApiParameter[]
  requestBody?: { required: boolean; description: string; content: Record<string, OpenApiMedia> }
  responses: Record<string, OpenApiResponse>
}

type Method = 'get' | 'post' | 'options'

export interface OpenApiDocument {
  openapi: '3.1.1'
  jsonSchemaDialect: string
  info: { title: string; version: string; description: string }
  externalDocs: { description: string; url: string }
  servers: { url: string }[]
  tags: { name: string; description: string }[]
  paths: Record<string, Partial<Record<Method, OpenApiOperation>>>
  components: {
    schemas: Record<string, JsonObject>
    securitySchemes: Record<string, JsonObject>
  }
}

const DIALECT = 'https://spec.openapis.org/oas/3.1/dialect/base'

/** A zod schema as JSON Schema: what a request may be (`input`) or what an answer is (`output`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' })
  return rest
}

const SCHEMAS = {
  Error: jsonSchema(errorBodySchema, 'output'),
  SyncRequest: jsonSchema(syncBodySchema, 'input'),
  SyncSuccess: jsonSchema(syncSuccessSchema, 'output'),
  Report: jsonSchema(reportJsonSchema, 'output'),
  ReportRow: jsonSchema(reportRowSchema, 'output'),
  SessionLine: jsonSchema(
    sessionInput.describe('One session: one line of the NDJSON body.'),
    'input',
  ),
  OrderLine: jsonSchema(
    orderInput.describe("One order, with Shopify's field names: one line of the NDJSON body."),
    'input',
  ),
  ImportResult: jsonSchema(importResultSchema, 'output'),
  ImportRejected: jsonSchema(importRejectedSchema, 'output'),
  ShopifyOrder: jsonSchema(
    orderInput
      .extend(shopifyOrder.shape)
      .loose()
      .describe('A Shopify order payload; the fields not listed here are ignored.'),
    'input',
  ),
  WebhookResult: jsonSchema(webhookResultSchema, 'output'),
  CollectEvent: jsonSchema(collectBody, 'input'),
} satisfies Record<string, JsonObject>

const ref = (name: keyof typeof SCHEMAS): JsonObject => ({ $ref: `#/components/schemas/${name}` })

/** The security requirements of the three ways of presenting a key (any one is enough). */
const KEY_HEADERS: Record<string, string[]>[] = [
  { secretKey: [] },
  { midaApiKey: [] },
  { bearer: [] },
]

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    schema: { type: 'integer' },
  },
}

/** A refusal or failure with the error body. */
function failure(
  description: string,
  example: string,
  headers?: OpenApiResponse['headers'],
): OpenApiResponse {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: {
      'application/json': { schema: ref('Error'), example: { success: false, error: example } },
    },
  }
}

const tooLarge = (path: string) =>
  failure(
    `The body is larger than this route takes (${new PayloadTooLarge(bodyLimitFor(path)).message.replace(/^.*at most /, '')}).`,
    new PayloadTooLarge(bodyLimitFor(path)).message,
  )
const busy = failure(
  'SQLite only: another process (a CLI import?) holds the database past the busy timeout. Retry after Retry-After seconds.',
  BUSY_MESSAGE,
  RETRY_AFTER,
)
const internal = failure(
  'A failure on the server side (logged there; no detail is given).',
  'Internal server error',
)
const invalidKey = (scope: string) =>
  failure(
    `Missing, unknown, revoked, expired or wrong-scope key (a key of scope \`${scope}\` is needed).`,
    'Invalid API key',
  )
const keyThrottle = failure(
  'Too many failed key attempts from this address: the same error shape, with Retry-After.',
  'Too many failed attempts, try again later',
  RETRY_AFTER,
)

function syncOperation(): OpenApiOperation {
  return {
    operationId: 'sync',
    summary: 'The analytics of the last completed period (or of the period containing `date`)',
    description:
      "Daily: the previous calendar day; weekly: the previous full week starting on the store's `week_start`, in the store's timezone. A period's body is computed once and served again unchanged (same ETag) until its sessions or orders change. Every call is logged.",
    tags: ['Analytics'],
    security: KEY_HEADERS,
    requestBody: {
      required: false,
      description:
        'Optional JSON object; no body (or an empty one) asks for the last completed period.',
      content: { 'application/json': { schema: ref('SyncRequest'), example: {} } },
    },
    responses: {
      '200': {
        description: 'The period synced.',
        headers: { ETag: { description: "The body's strong ETag.", schema: { type: 'string' } } },
        content: { 'application/json': { schema: ref('SyncSuccess') } },
      },
      '400': failure(
        'The body is not JSON, has an unknown field or a bad value.',
        'Body is not valid JSON',
      ),
      '401': invalidKey('export'),
      '403': failure('The API status is deactivated on the settings page.', 'API is deactivated'),
      '409': failure(
        '`frequency` differs from the saved sync frequency.',
        'Frequency mismatch: requested weekly, but the data sync frequency is daily',
      ),
      '413': tooLarge(SYNC_PATH),
      '429': keyThrottle,
      '500': failure('Computing the sync failed (a failure notification is sent).', 'Sync failed'),
      '503': busy,
    },
  }
}

/** The report's query parameters, from the schema that validates them (`token` is a security scheme). */
function reportParameters(): OpenApiParameter[] {
  const query = jsonSchema(reportQuerySchema, 'input') as {
    properties: Record<string, JsonObject>
    required?: string[]
  }
  return Object.entries(query.properties)
    .filter(([name]) => name !== 'token')
    .map(([name, { description, ...schema }]) => ({
      name,
      in: 'query' as const,
      required: query.required?.includes(name) ?? false,
      ...(typeof description === 'string' ? { description } : {}),
      schema,
    }))
}

function reportOperation(): OpenApiOperation {
  return {
    operationId: 'report',
    summary: 'The metrics of any range of whole store days, as JSON, CSV or NDJSON',
    description:
      'At most 400 days; today counts so far. The figures are those the sync API gives for the same days. Authenticated with the sync API’s headers and a key of scope `export` or `report`, or with `?token=` and a key of scope `report` only (read-only: made for spreadsheet links such as Google Sheets IMPORTDATA).',
    tags: ['Analytics'],
    security: [...KEY_HEADERS, { reportToken: [] }],
    parameters: reportParameters(),
    responses: {
      '200': {
        description:
          'The report: JSON (format=json), or one row per value of `dimension` as CSV (RFC 4180, UTF-8, a header row; columns date|device|source|landing_page, visitors, sessions, pageviews, bounce_rate, avg_session_duration_seconds, successful_orders, revenue, conversion_rate) or NDJSON (one row object a line).',
        content: {
          'application/json': { schema: ref('Report') },
          'text/csv': {
            schema: { type: 'string' },
            example:
              'date,visitors,sessions,pageviews,bounce_rate,avg_session_duration_seconds,successful_orders,revenue,conversion_rate\r\n2026-11-25,812,1034,4120,0.3812,142.5,23,2143.55,0.0222\r\n',
          },
          'application/x-ndjson': {
            schema: ref('ReportRow'),
          },
        },
      },
      '400': failure(
        'A bad or unknown parameter, `from` after `to`, or a range over 400 days.',
        'format must be "json", "csv" or "ndjson"',
      ),
      '401': failure(
        'Missing, unknown, revoked, expired or wrong-scope key (headers: scope `export` or `report`; `token`: scope `report` only).',
        'Invalid API key',
      ),
      '403': failure('The API status is deactivated on the settings page.', 'API is deactivated'),
      '411': failure(
        'A chunked request body (a GET needs none).',
        'Send the body with a Content-Length (at most 64 KB)',
      ),
      '413': failure(
        'A request body over 64 KB (a GET needs none).',
        'Body is too large: at most 64 KB',
      ),
      '429': keyThrottle,
      '500': internal,
      '503': busy,
    },
  }
}

function importOperation(kind: 'sessions' | 'orders'): OpenApiOperation {
  const line = kind === 'sessions' ? ref('SessionLine') : ref('OrderLine')
  const content: Record<string, OpenApiMedia> = { 'application/x-ndjson': { schema: line } }
  if (kind === 'orders') {
    content['text/csv'] = {
      schema: {
        type: 'string',
        description:
          "Shopify's orders CSV export (columns Name, Financial Status, Created at, Total, Currency, Cancelled at, Id, …; one row per line item).",
      },
    }
  }
  const counts = { kind, format: 'ndjson', inserted: 2, updated: 0 }
  const responses: Record<string, OpenApiResponse> = {
    '200': {
      description: 'Every line was imported.',
      content: {
        'application/json': {
          schema: ref('ImportResult'),
          example: { success: true, ...counts, rejected: 0, errors: [] },
        },
      },
    },
    '401': invalidKey('ingest'),
    // Bun's own bound on any body (MAX_REQUEST_BODY_BYTES): it answers before the app sees it.
    '413': {
      description: `The declared body is over ${formatBytes(MAX_REQUEST_BODY_BYTES)}: refused before it is read (no body).`,
    },
    '422': {
      description:
        'Some lines were refused (each with its line number and reason); the others were imported.',
      content: {
        'application/json': {
          schema: ref('ImportRejected'),
          example: {
            success: false,
            error: '1 line rejected; the other lines were imported',
            ...counts,
            rejected: 1,
            errors: [{ line: 3, error: 'started_at: is required' }],
          },
        },
      },
    },
    '429': keyThrottle,
    '500': internal,
    '503': busy,
  }
  if (kind === 'orders') {
    responses['400'] = failure(
      'A CSV that is not a Shopify orders export.',
      'This looks like a CSV file but not a Shopify orders export: it needs the columns Name, Created at and Total',
    )
  }
  return {
    operationId: `import${kind === 'sessions' ? 'Sessions' : 'Orders'}`,
    summary: `Imports ${kind} (NDJSON${kind === 'orders' ? " or Shopify's orders CSV export" : ''})`,
    description:
      'One record a line, upserted by `id` (sending a record again updates it). A bad line is reported with its number and skipped; the good lines are kept. Streamed: the answer comes once every accepted line is committed. Any Content-Type; the format is told by the content.',
    tags: ['Data in'],
    security: KEY_HEADERS,
    requestBody: {
      required: true,
      description:
        kind === 'orders'
          ? "Orders as NDJSON (one object a line), or Shopify's orders CSV export."
          : 'Sessions as NDJSON (one object a line).',
      content,
    },
    responses: sortStatuses(responses),
  }
}

function webhookOperation(withTrackingId: boolean): OpenApiOperation {
  const responses: Record<string, OpenApiResponse> = {
    '200': {
      description:
        'The delivery was taken (applied, or recognised as a duplicate, stale or another topic).',
      content: { 'application/json': { schema: ref('WebhookResult') } },
    },
    '400': failure('The body is not a JSON Shopify order.', 'Order: created_at: is required'),
    '401': failure(
      "The signature does not match the store's `shopify_webhook_secret` (or no secret is set).",
      'Invalid webhook signature',
    ),
    '413': tooLarge('/apiv1/webhooks/shopify/orders'),
    '500': internal,
    '503': busy,
  }
  if (withTrackingId) {
    responses['404'] = failure('No store has this tracking id.', 'No store has this tracking id')
  }
  const parameters: OpenApiParameter[] = [
    {
      name: 'X-Shopify-Topic',
      in: 'header',
      required: true,
      description:
        'orders/create, orders/updated, orders/paid or orders/cancelled are applied; any other topic is acknowledged and ignored.',
      schema: { type: 'string' },
    },
    {
      name: 'X-Shopify-Webhook-Id',
      in: 'header',
      required: false,
      description: 'A delivery id seen before is acknowledged and not applied again.',
      schema: { type: 'string' },
    },
  ]
  if (withTrackingId) {
    parameters.unshift({
      name: 'trackingId',
      in: 'path',
      required: true,
      description: "The store's `tracking_id` (settings page, Tracking).",
      schema: { type: 'string' },
    })
  }
  return {
    operationId: withTrackingId ? 'shopifyOrderWebhookOfStore' : 'shopifyOrderWebhook',
    summary: withTrackingId
      ? 'Shopify order webhooks of the store with this tracking id'
      : 'Shopify order webhooks of the first store',
    description:
      'Verified with X-Shopify-Hmac-Sha256 on the raw body, de-duplicated on X-Shopify-Webhook-Id, answered at once.',
    tags: ['Data in'],
    security: [{ shopifyHmac: [] }],
    parameters,
    requestBody: {
      required: true,
      description: 'The order, as Shopify sends it.',
      content: { 'application/json': { schema: ref('ShopifyOrder') } },
    },
    responses: sortStatuses(responses),
  }
}

const CORS_ORIGIN = {
  'Access-Control-Allow-Origin': {
    description: "The request's Origin, when the store allows it.",
    schema: { type: 'string' },
  },
}

function collectOperation(): OpenApiOperation {
  return {
    operationId: 'collect',
    summary: 'A tracker event (sent by /mida.js)',
    description:
      "Pageviews and cart/checkout steps from the storefront's tracker. The Origin must be in the store's `allowed_origins` (empty: any). Events are sessionized on the server; bots get the same answer and are dropped; no IP address is stored.",
    tags: ['Tracker'],
    security: [],
    requestBody: {
      required: true,
      description: 'JSON (sendBeacon sends it as text/plain).',
      content: {
        'text/plain': { schema: ref('CollectEvent') },
        'application/json': { schema: ref('CollectEvent') },
      },
    },
    responses: {
      '204': { description: 'The event is recorded.', headers: CORS_ORIGIN },
      '400': failure('The body is not JSON or a field is wrong.', 'visitor: must be a visitor id'),
      '403': failure("The Origin is not in the store's allowed_origins.", 'Origin not allowed'),
      '404': failure('No store has this tracking id (`store`).', 'Unknown tracking id'),
      '413': tooLarge(COLLECT_PATH),
      '429': failure(
        'Too many events from this address (MIDA_COLLECT_IP_RATE) or this visitor (MIDA_COLLECT_RATE).',
        'Too many events from this address',
        RETRY_AFTER,
      ),
      '500': internal,
      '503': busy,
    },
  }
}

function collectPreflight(): OpenApiOperation {
  return {
    operationId: 'collectPreflight',
    summary: "The browser's CORS preflight of a tracker event",
    description:
      'Passes when some store takes the Origin (the event is then checked against its own store).',
    tags: ['Tracker'],
    security: [],
    parameters: [
      {
        name: 'Origin',
        in: 'header',
        required: false,
        description: 'The storefront.',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '204': {
        description: 'Allowed: POST with Content-Type, for a day.',
        headers: {
          ...CORS_ORIGIN,
          'Access-Control-Allow-Methods': {
            description: 'POST, OPTIONS',
            schema: { type: 'string' },
          },
        },
      },
      '403': { description: 'No store allows this Origin (no body).' },
      '413': tooLarge(COLLECT_PATH),
      '500': internal,
    },
  }
}

/** Statuses in ascending order, so the page and the document read the same way. */
function sortStatuses(responses: Record<string, OpenApiResponse>): Record<string, OpenApiResponse> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)))
}

/** The OpenAPI 3.1 document of the `/apiv1` API served at `baseUrl`. */
function openApiDocument(baseUrl: string): OpenApiDocument {
  const token = reportQuerySchema.shape.token.description
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: DIALECT,
    info: {
      title: 'mida-export API',
      version: VERSION,
      description: `The analytics export (sync and report), data in (imports, Shopify webhooks) and the storefront tracker of one mida-export server. Human-readable: ${baseUrl}/docs. Every error under \`/apiv1\` has the body \`{"success":false,"error":"…"}\`; an unknown path or method under \`/apiv1\` answers 404 with it.`,
    },
    externalDocs: { description: 'This document as a page', url: `${baseUrl}/docs` },
    servers: [{ url: baseUrl }],
    tags: [
      { name: 'Analytics', description: 'The store analytics, by key.' },
      { name: 'Data in', description: 'Sessions and orders into the store.' },
      { name: 'Tracker', description: 'What the storefront script (/mida.js) sends.' },
    ],
    paths: {
      [SYNC_PATH]: { post: syncOperation() },
      '/apiv1/analytics/report': { get: reportOperation() },
      '/apiv1/import/sessions': { post: importOperation('sessions') },
      '/apiv1/import/orders': { post: importOperation('orders') },
      '/apiv1/webhooks/shopify/orders': { post: webhookOperation(false) },
      '/apiv1/webhooks/shopify/orders/{trackingId}': { post: webhookOperation(true) },
      [COLLECT_PATH]: { post: collectOperation(), options: collectPreflight() },
    },
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        secretKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-mida-secret-key',
          description: 'An API key (settings page, or `mida-export keys create`).',
        },
        midaApiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'mida-api-key',
          description: 'The same key, under the other header name MIDA documents.',
        },
        bearer: { type: 'http', scheme: 'bearer', description: 'The same key as a bearer token.' },
        reportToken: { type: 'apiKey', in: 'query', name: 'token', description: token ?? '' },
        shopifyHmac: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Shopify-Hmac-Sha256',
          description:
            "Base64 HMAC-SHA256 of the raw body with the store's `shopify_webhook_secret` (Shopify signs every delivery).",
        },
      },
    },
  }
}

/** `GET /openapi.json` and `GET /docs` (public: the document holds no secret). */
export function openApiRoutes(ctx: AppContext) {
  const document = openApiDocument(ctx.config.baseUrl)
  const body = JSON.stringify(document, null, 2)
  return (
    new Elysia({ name: 'openapi' })
      .get(
        '/openapi.json',
        () =>
          new Response(body, { headers: { 'content-type': 'application/json; charset=utf-8' } }),
      )
      // Elysia's html plugin renders this page (the design's choice for rendering). Its automatic
      // detection stays off: it would look at every route's answer, and the settings pages keep
      // their own htmlResponse (headers per answer, htmx fragments with their status).
      .use(html({ contentType: HTML_CONTENT_TYPE, autoDetect: false }))
      .get('/docs', ({ html, set }) => {
        set.headers['cache-control'] = 'no-store'
        return html(DocsPage({ document }))
      })
  )
}
