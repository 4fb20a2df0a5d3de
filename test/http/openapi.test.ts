import { Database } from 'bun:sqlite'
import { afterEach, describe, expect, spyOn, test } from 'bun:test'
import { connect } from 'node:net'
import { join } from 'node:path'
import { Validator } from '@seriousme/openapi-schema-validator'
import Ajv2020 from 'ajv/dist/2020.js'
import { z } from 'zod'
import { DATABASE_FILE } from '../../src/db/database.ts'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { signShopifyBody } from '../../src/domain/webhooks.ts'
import { reportQuerySchema, syncBodySchema } from '../../src/http/apiSchemas.ts'
import { collectBody } from '../../src/http/collect.ts'
import type { JsonObject, OpenApiDocument, OpenApiOperation } from '../../src/http/openapi.ts'
import { CONTENT_SECURITY_POLICY } from '../../src/http/security.ts'
import { createTestApp, listen, onPostgres, type TestApp } from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York: the last completed day is 2026-11-25.
const NOW = '2026-11-26T06:00:00Z'
const SHOP = 'https://shop.example'
const SECRET = 'shpss_test_secret'
const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

let t: TestApp | null = null
let server: { url: string; stop: () => Promise<void> } | null = null

afterEach(async () => {
  await server?.stop()
  t?.close()
  server = null
  t = null
})

async function start(env: Record<string, string> = {}) {
  t = await createTestApp({
    now: NOW,
    settings: {
      timezone: 'America/New_York',
      currency: 'USD',
      api_enabled: 'true',
      allowed_origins: SHOP,
      shopify_webhook_secret: SECRET,
    },
    // Low allowances, so that a few requests reach each throttle.
    env: { MIDA_KEY_ATTEMPTS: '3/15m', MIDA_COLLECT_IP_RATE: '30/1m', ...env },
  })
  server = listen(t.app)
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument
  return { t, url: server.url, doc }
}

/** The documented method and path template a request is checked against. */
type Target = { method: 'get' | 'post' | 'options'; path: string }

function operationOf(doc: OpenApiDocument, target: Target): OpenApiOperation {
  const operation = doc.paths[target.path]?.[target.method]
  if (!operation) throw new Error(`${target.method} ${target.path} is not documented`)
  return operation
}

const ajv = new Ajv2020({ strict: false, allErrors: true })

/** A media type's schema, its `$ref` to the components followed (they hold no nested refs). */
function schemaOf(doc: OpenApiDocument, schema: JsonObject): JsonObject {
  const ref = schema.$ref
  return typeof ref === 'string'
    ? (doc.components.schemas[ref.replace('#/components/schemas/', '')] as JsonObject)
    : schema
}

/**
 * Checks an answer against the document: its status is documented for the path and method, its
 * body's media type too, a JSON body validates against that status's schema, and the headers
 * documented for it (Retry-After, ETag) are there. Returns the status.
 */
async function expectDocumented(
  doc: OpenApiDocument,
  target: Target,
  res: Response,
  name: string,
): Promise<number> {
  const operation = operationOf(doc, target)
  const documented = operation.responses[String(res.status)]
  const body = await res.text()
  expect({ name, status: res.status, documented: documented !== undefined }).toEqual({
    name,
    status: res.status,
    documented: true,
  })
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim()
  if (body === '') {
    expect({ name, content: documented!.content }).toEqual({ name, content: undefined })
  } else {
    const media = documented!.content?.[type]
    expect({ name, type, documented: media !== undefined }).toEqual({
      name,
      type,
      documented: true,
    })
    if (type === 'application/json') {
      const validate = ajv.compile(schemaOf(doc, media!.schema))
      const valid = validate(JSON.parse(body))
      expect({ name, body: JSON.parse(body), errors: valid ? null : validate.errors }).toEqual({
        name,
        body: JSON.parse(body),
        errors: null,
      })
    }
  }
  for (const header of ['Retry-After', 'ETag']) {
    if (documented!.headers?.[header]) {
      expect({ name, header, value: res.headers.get(header) !== null }).toEqual({
        name,
        header,
        value: true,
      })
    }
  }
  return res.status
}

/** One row of a route's table: a request and the status it must get. */
interface Row {
  name: string
  status: number
  /** The request (made after `before`, and `after` run whatever happens). */
  send: () => Promise<Response>
  before?: () => Promise<void> | void
  after?: () => Promise<void> | void
  /** Only SQLite can be made busy by another process (PostgreSQL waits for its locks). */
  sqliteOnly?: boolean
}

/**
 * Runs a route's table against the running server: each row gets its status, documented with a
 * body that matches, and the statuses provoked are exactly the documented ones (503 only on
 * SQLite).
 */
async function runTable(doc: OpenApiDocument, target: Target, rows: Row[]): Promise<void> {
  const provoked = new Set<string>()
  for (const row of rows) {
    if (row.sqliteOnly && onPostgres) continue
    await row.before?.()
    let res: Response
    try {
      res = await row.send()
    } finally {
      await row.after?.()
    }
    expect({ row: row.name, status: res.status }).toEqual({ row: row.name, status: row.status })
    provoked.add(String(await expectDocumented(doc, target, res, row.name)))
  }
  const documented = Object.keys(operationOf(doc, target).responses).filter(
    (s) => !(onPostgres && s === '503'),
  )
  expect({ target, provoked: [...provoked].sort() }).toEqual({
    target,
    provoked: documented.sort(),
  })
}

/** Holds SQLite's write lock from another connection for the duration of `send` (busy: 503). */
function busyRow(name: string, send: () => Promise<Response>): Row {
  let other: Database | null = null
  return {
    name,
    status: 503,
    sqliteOnly: true,
    before: () => {
      t!.db.exec('PRAGMA busy_timeout = 100') // the server waits 5 s; no need here
      other = new Database(join(t!.dir, DATABASE_FILE))
      other.exec('BEGIN IMMEDIATE')
    },
    send,
    after: () => {
      other?.exec('ROLLBACK')
      other?.close()
    },
  }
}

/** A table renamed away for the duration of `send` (a failure on the server's side: 500). */
function brokenRow(name: string, table: string, send: () => Promise<Response>): Row {
  let logged: ReturnType<typeof spyOn> | null = null
  return {
    name,
    status: 500,
    before: async () => {
      logged = spyOn(console, 'error').mockImplementation(() => {})
      await t!.data.run(`ALTER TABLE ${table} RENAME TO ${table}_gone`)
      t!.data.cache.invalidate()
    },
    send,
    after: async () => {
      await t!.data.run(`ALTER TABLE ${table}_gone RENAME TO ${table}`)
      t!.data.cache.invalidate()
      logged?.mockRestore()
    },
  }
}

/** Failed key attempts from this address until the throttle refuses one (429). */
function throttledRow(name: string, send: () => Promise<Response>): Row {
  return {
    name,
    status: 429,
    send: async () => {
      for (let i = 0; i < 20; i++) {
        const res = await send()
        if (res.status !== 401) return res
        await res.arrayBuffer()
      }
      throw new Error('never throttled')
    },
  }
}

/**
 * A request written on a raw socket (a declared Content-Length fetch cannot fake, a chunked
 * GET): the status line and the body of the answer.
 */
function rawRequest(url: string, head: string): Promise<Response> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head))
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
      const headers = new Headers(
        lines.map((l): [string, string] => [
          l.slice(0, l.indexOf(':')),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      )
      const length = Number(headers.get('content-length') ?? 0)
      const body = text.slice(end + 4)
      if (body.length < length) return
      socket.destroy()
      resolve(
        new Response(body.slice(0, length) || null, {
          status: Number(statusLine!.split(' ')[1]),
          headers,
        }),
      )
    })
    socket.on('error', reject)
  })
}

const ALL_ROUTES_NOTE = 'served by Elysia (app.routes) or handed to Bun’s router (serve.routes)'

describe('GET /openapi.json', () => {
  test('an OpenAPI 3.1 document that the official 3.1 schema validates, its server from MIDA_BASE_URL, linking /docs', async () => {
    const { doc } = await start({ MIDA_BASE_URL: 'https://mida.example' })
    const validator = new Validator()
    const result = await validator.validate(doc as unknown as Record<string, unknown>)
    expect(result).toEqual({ valid: true })
    expect(validator.version).toBe('3.1')
    expect(doc.openapi).toBe('3.1.1')
    expect(doc.servers).toEqual([{ url: 'https://mida.example' }])
    expect(doc.externalDocs.url).toBe('https://mida.example/docs')
    expect(doc.info.description).toContain('https://mida.example/docs')
    // Each schema compiles as JSON Schema 2020-12, and the components hold no nested $ref.
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      expect({ name, ref: JSON.stringify(schema).includes('$ref') }).toEqual({ name, ref: false })
      ajv.compile(schema)
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(
      ['bearer', 'midaApiKey', 'reportToken', 'secretKey', 'shopifyHmac'].sort(),
    )
    expect(doc.components.securitySchemes.secretKey).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'x-mida-secret-key',
    })
  })

  test('every example body in the document matches its schema', async () => {
    const { doc } = await start()
    let checked = 0
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation!.responses)) {
          const media = response.content?.['application/json']
          if (media?.example === undefined) continue
          const validate = ajv.compile(schemaOf(doc, media.schema))
          const valid = validate(media.example)
          expect({ path, method, status, errors: valid ? null : validate.errors }).toEqual({
            path,
            method,
            status,
            errors: null,
          })
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThan(40)
  })

  test('the request schemas are the zod schemas the handlers validate with', async () => {
    const { doc } = await start()
    const generated = (schema: z.ZodType) => {
      const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input' })
      return rest as JsonObject
    }
    const component = (name: string) => doc.components.schemas[name] as JsonObject
    expect(component('SyncRequest')).toEqual(generated(syncBodySchema))
    expect(component('CollectEvent')).toEqual(generated(collectBody))
    expect(component('SessionLine').properties).toEqual(generated(sessionInput).properties)
    expect(component('OrderLine').properties).toEqual(generated(orderInput).properties)
    // The report's parameters are reportQuerySchema's fields (`token` is a security scheme).
    const query = generated(reportQuerySchema) as { properties: Record<string, JsonObject> }
    const report = operationOf(doc, { method: 'get', path: '/apiv1/analytics/report' })
    expect(
      Object.fromEntries(
        report.parameters!.map((p) => [
          p.name,
          { ...p.schema, ...(p.description ? { description: p.description } : {}) },
        ]),
      ),
    ).toEqual(
      Object.fromEntries(Object.entries(query.properties).filter(([name]) => name !== 'token')),
    )
    expect(doc.components.securitySchemes.reportToken).toMatchObject({
      type: 'apiKey',
      in: 'query',
      name: 'token',
    })
    // The sync body: every field the handler takes, nothing else.
    expect(Object.keys(component('SyncRequest').properties as JsonObject).sort()).toEqual([
      'compare',
      'date',
      'frequency',
    ])
    expect(component('SyncRequest').additionalProperties).toBe(false)
  })
})

describe(`every route under /apiv1 (${ALL_ROUTES_NOTE}) is described`, () => {
  test('each route the server answers is documented, and each documented operation is answered', async () => {
    const { t, doc } = await start()
    const serveRoutes = (t.app.config.serve as { routes?: Record<string, Record<string, unknown>> })
      .routes
    const served = [
      ...t.app.routes.map((r) => ({ method: r.method.toUpperCase(), path: r.path })),
      ...Object.entries(serveRoutes ?? {}).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
      ),
    ].filter((r) => r.path.startsWith('/apiv1'))
    // Both routers hand over the sync API and collect: the fast routes are found.
    expect(served.filter((r) => r.path === '/apiv1/analytics/sync')).toHaveLength(2)
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => ({ method: method.toUpperCase(), path })),
    )
    // `{param}` (OpenAPI) and `:param` (Elysia) are one segment; a route's parameter may be
    // documented as the paths it takes (`/apiv1/import/:kind` as .../sessions and .../orders).
    const pattern = (path: string) => new RegExp(`^${path.replace(/\{[^/]+\}|:[^/]+/g, '[^/]+')}$`)
    const covers = (route: { path: string }, op: { path: string }) =>
      pattern(route.path).test(op.path) || pattern(op.path).test(route.path)
    const undocumented = served.filter(
      (r) => !documented.some((op) => op.method === r.method && covers(r, op)),
    )
    expect(undocumented).toEqual([])
    const unanswered = documented
      .filter((op) => !served.some((r) => r.method === op.method && covers(r, op)))
      .map((op) => `${op.method} ${op.path}`)
    expect(unanswered).toEqual([])
  })
})

describe('every status of every route is documented, with its body (the real server)', () => {
  test('POST /apiv1/analytics/sync', async () => {
    const { t, url, doc } = await start()
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    const sync = (headers: Record<string, string>, body?: string) =>
      fetch(`${url}/apiv1/analytics/sync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      })
    const withKey = (body?: string) => sync({ 'x-mida-secret-key': key }, body)
    await runTable(doc, { method: 'post', path: '/apiv1/analytics/sync' }, [
      { name: 'success', status: 200, send: () => withKey() },
      {
        name: 'bearer, a date',
        status: 200,
        send: () => sync({ authorization: `Bearer ${key}` }, '{"date":"2026-11-20"}'),
      },
      { name: 'body not JSON', status: 400, send: () => withKey('{') },
      { name: 'unknown field', status: 400, send: () => withKey('{"nope":1}') },
      { name: 'no key', status: 401, send: () => sync({}) },
      {
        name: 'API deactivated',
        status: 403,
        before: () =>
          updateSettings(t.data, t.store, { api_enabled: 'false' }, t.clock).then(() => {}),
        send: () => withKey(),
        after: () =>
          updateSettings(t.data, t.store, { api_enabled: 'true' }, t.clock).then(() => {}),
      },
      { name: 'frequency mismatch', status: 409, send: () => withKey('{"frequency":"weekly"}') },
      {
        name: 'body over 16 KB',
        status: 413,
        send: () => withKey(`{"date":"${'x'.repeat(17 * 1024)}"}`),
      },
      brokenRow('sessions table gone', 'sessions', () => withKey('{"date":"2026-11-10"}')),
      busyRow('database busy', () => withKey('{"date":"2026-11-12"}')),
      throttledRow('failed key attempts', () => sync({ 'x-mida-secret-key': 'mida_wrong' })),
    ])
  })

  for (const kind of ['sessions', 'orders'] as const) {
    test(`POST /apiv1/import/${kind}`, async () => {
      const { t, url, doc } = await start()
      const key = (await createApiKey(t.data, t.store, 'loader', 'ingest', t.clock)).secret
      const exportKey = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
      const path = `/apiv1/import/${kind}`
      const post = (body: string, headers: Record<string, string> = { 'x-mida-secret-key': key }) =>
        fetch(`${url}${path}`, { method: 'POST', headers, body })
      const good =
        kind === 'sessions'
          ? '{"id":"s1","visitor_id":"v1","started_at":"2026-11-25T10:00:00-05:00"}\n'
          : '{"id":"o1","created_at":"2026-11-25T10:00:00-05:00","total_price":"12.30"}\n'
      const rows: Row[] = [
        { name: 'every line taken', status: 200, send: () => post(good) },
        { name: 'a bad line', status: 422, send: () => post(`${good}{"id":""}\n`) },
        { name: 'no key', status: 401, send: () => post(good, {}) },
        {
          name: 'an export key',
          status: 401,
          send: () => post(good, { 'x-mida-secret-key': exportKey }),
        },
        {
          name: 'a declared body over 1 GB',
          status: 413,
          send: () =>
            rawRequest(
              url,
              `POST ${path} HTTP/1.1\r\nHost: x\r\nx-mida-secret-key: ${key}\r\nContent-Length: ${2 * 1024 ** 3}\r\n\r\n`,
            ),
        },
        brokenRow(`${kind} table gone`, kind, () => post(good)),
        busyRow('database busy', () => post(good)),
        throttledRow('failed key attempts', () => post(good, { 'mida-api-key': 'mida_wrong' })),
      ]
      if (kind === 'orders') {
        rows.push({
          name: 'a CSV that is no Shopify export',
          status: 400,
          send: () => post('a,b,c\n1,2,3\n'),
        })
        // The throttle refuses every key from this address now: the 400 needs a fresh address.
        rows.unshift(rows.pop()!)
      }
      await runTable(doc, { method: 'post', path }, rows)
    })
  }

  for (const withTrackingId of [false, true]) {
    const path = withTrackingId
      ? '/apiv1/webhooks/shopify/orders/{trackingId}'
      : '/apiv1/webhooks/shopify/orders'
    test(`POST ${path}`, async () => {
      const { t, url, doc } = await start()
      const at = withTrackingId ? `/apiv1/webhooks/shopify/orders/${t.store.trackingId}` : path
      const deliver = (body: string, signature = signShopifyBody(body, SECRET), to = at) =>
        fetch(`${url}${to}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-shopify-topic': 'orders/create',
            'x-shopify-hmac-sha256': signature,
          },
          body,
        })
      const order = (id: string) =>
        JSON.stringify({ id, created_at: '2026-11-25T10:00:00-05:00', total_price: '9.99' })
      const rows: Row[] = [
        { name: 'applied', status: 200, send: () => deliver(order('1001')) },
        { name: 'not a JSON object', status: 400, send: () => deliver('[1]') },
        {
          name: 'no created_at',
          status: 400,
          send: () => deliver('{"id":"1002","total_price":"1"}'),
        },
        { name: 'wrong signature', status: 401, send: () => deliver(order('1003'), 'AAAA') },
        {
          name: 'body over 2 MB',
          status: 413,
          send: () => deliver(`{"x":"${'x'.repeat(2 * 1024 * 1024)}"}`),
        },
        brokenRow('orders table gone', 'orders', () => deliver(order('1004'))),
        busyRow('database busy', () => deliver(order('1005'))),
      ]
      if (withTrackingId) {
        rows.push({
          name: 'unknown tracking id',
          status: 404,
          send: () => deliver(order('1006'), undefined, '/apiv1/webhooks/shopify/orders/nobody'),
        })
      }
      await runTable(doc, { method: 'post', path }, rows)
    })
  }

  test('POST /apiv1/collect', async () => {
    const { t, url, doc } = await start()
    const event = (fields: Record<string, unknown> = {}) =>
      JSON.stringify({
        store: t.store.trackingId,
        visitor: 'visitor-0001',
        event: 'pageview',
        url: `${SHOP}/`,
        ...fields,
      })
    const post = (body: string, origin = SHOP) =>
      fetch(`${url}/apiv1/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': DESKTOP, origin },
        body,
      })
    await runTable(doc, { method: 'post', path: '/apiv1/collect' }, [
      { name: 'recorded', status: 204, send: () => post(event()) },
      { name: 'not JSON', status: 400, send: () => post('nope') },
      { name: 'bad visitor', status: 400, send: () => post(event({ visitor: 'x' })) },
      {
        name: 'origin not allowed',
        status: 403,
        send: () => post(event(), 'https://evil.example'),
      },
      { name: 'unknown tracking id', status: 404, send: () => post(event({ store: 'nobody' })) },
      {
        name: 'body over 16 KB',
        status: 413,
        send: () => post(event({ referrer: 'x'.repeat(17 * 1024) })),
      },
      brokenRow('sessions table gone', 'sessions', () => post(event({ visitor: 'visitor-0002' }))),
      busyRow('database busy', () => post(event({ visitor: 'visitor-0003' }))),
      {
        name: 'too many events from this address',
        status: 429,
        send: async () => {
          for (let i = 0; i < 40; i++) {
            const res = await post(event({ visitor: `visitor-1${String(i).padStart(3, '0')}` }))
            if (res.status !== 204) return res
          }
          throw new Error('never limited')
        },
      },
    ])
  })

  test('OPTIONS /apiv1/collect', async () => {
    const { url, doc } = await start()
    const preflight = (origin: string, body?: string) =>
      fetch(`${url}/apiv1/collect`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
        body,
      })
    await runTable(doc, { method: 'options', path: '/apiv1/collect' }, [
      { name: 'allowed', status: 204, send: () => preflight(SHOP) },
      {
        name: 'no store takes the origin',
        status: 403,
        send: () => preflight('https://evil.example'),
      },
      { name: 'body over 16 KB', status: 413, send: () => preflight(SHOP, 'x'.repeat(17 * 1024)) },
      brokenRow('stores table gone', 'stores', () => preflight(SHOP)),
    ])
  })

  test('GET /apiv1/analytics/report', async () => {
    const { t, url, doc } = await start()
    const key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
    const reportKey = (await createApiKey(t.data, t.store, 'sheets', 'report', t.clock)).secret
    const get = (query: string, headers: Record<string, string> = { 'x-mida-secret-key': key }) =>
      fetch(`${url}/apiv1/analytics/report${query}`, { headers })
    await runTable(doc, { method: 'get', path: '/apiv1/analytics/report' }, [
      { name: 'json', status: 200, send: () => get('?from=2026-11-01&to=2026-11-25') },
      {
        name: 'json compared',
        status: 200,
        send: () => get('?from=2026-11-19&to=2026-11-25&compare=previous_period'),
      },
      { name: 'csv by token', status: 200, send: () => get(`?format=csv&token=${reportKey}`, {}) },
      {
        name: 'ndjson, a row a day',
        status: 200,
        send: () => get('?format=ndjson&from=2026-11-20&to=2026-11-21'),
      },
      {
        name: 'json by device',
        status: 200,
        send: () => get('?from=2026-11-20&to=2026-11-21&dimension=device'),
      },
      { name: 'bad format', status: 400, send: () => get('?format=xml') },
      { name: 'over 400 days', status: 400, send: () => get('?from=2025-01-01&to=2026-11-25') },
      { name: 'an export key as token', status: 401, send: () => get(`?token=${key}`, {}) },
      { name: 'no key', status: 401, send: () => get('', {}) },
      {
        name: 'API deactivated',
        status: 403,
        before: () =>
          updateSettings(t.data, t.store, { api_enabled: 'false' }, t.clock).then(() => {}),
        send: () => get(''),
        after: () =>
          updateSettings(t.data, t.store, { api_enabled: 'true' }, t.clock).then(() => {}),
      },
      {
        name: 'a chunked body',
        status: 411,
        send: () =>
          rawRequest(
            url,
            `GET /apiv1/analytics/report HTTP/1.1\r\nHost: x\r\nx-mida-secret-key: ${key}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`,
          ),
      },
      {
        name: 'a body over 64 KB',
        status: 413,
        send: () =>
          rawRequest(
            url,
            `GET /apiv1/analytics/report HTTP/1.1\r\nHost: x\r\nx-mida-secret-key: ${key}\r\nContent-Length: ${65 * 1024}\r\n\r\n`,
          ),
      },
      brokenRow('sessions table gone', 'sessions', () => get('?from=2026-11-01&to=2026-11-02')),
      // A report only reads (a reader is never blocked by another process's write), but the
      // key's last use is written once a minute: that write meets the locked database.
      {
        ...busyRow('database busy', () => get('?from=2026-11-03&to=2026-11-04')),
        send: () => {
          t.clock.advance({ minutes: 2 })
          return get('?from=2026-11-03&to=2026-11-04')
        },
      },
      throttledRow('failed key attempts', () => get('', { 'x-mida-secret-key': 'mida_wrong' })),
    ])
  })
})

describe('GET /docs', () => {
  test('a public HTML page naming every path, with no external script or stylesheet, under the strict CSP', async () => {
    const { url, doc } = await start()
    const res = await fetch(`${url}/docs`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    const html = await res.text()
    for (const path of Object.keys(doc.paths)) expect(html).toContain(`<code>${path}</code>`)
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const operation of Object.values(item)) {
        for (const status of Object.keys(operation!.responses)) {
          expect(html).toContain(`id="op-${operation!.operationId}"`)
          expect(html).toContain(`>${status}</span>`)
        }
        expect(html).toContain(path)
      }
    }
    // Only the app's own files: no CDN, no inline script or style (the CSP would block them).
    const sources = [...html.matchAll(/<(script|link)\b[^>]*>/g)].map((m) => m[0])
    expect(sources.length).toBeGreaterThan(0)
    for (const tag of sources) expect(tag).toMatch(/(src|href)="\/assets\//)
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/<style\b|\sstyle=/)
    // Every asset it names is served.
    for (const [, asset] of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
      expect((await fetch(`${url}${asset}`)).status).toBe(200)
    }
  })

  test('the settings page links to it', async () => {
    const { t, url } = await start()
    const { admin } = await createOrResetAdmin(
      t.data,
      'me@shop.example',
      'a good password',
      t.clock,
    )
    const session = await startSession(t.data, admin.id, t.clock)
    const res = await fetch(`${url}/settings`, {
      headers: { cookie: `mida_session=${session.token}` },
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('<a href="/docs">API reference</a>')
  })
})
