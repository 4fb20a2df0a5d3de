import { escapeHtml } from '@kitajs/html'
import type {
  JsonObject,
  OpenApiDocument,
  OpenApiMedia,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiResponse,
} from '../src/http/openapi.ts'
import { Layout } from './layout.tsx'

/** One operation of the document, with where it is. */
interface Endpoint {
  method: string
  path: string
  operation: OpenApiOperation
}

function endpointsOf(document: OpenApiDocument): Endpoint[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      operation,
    })),
  )
}

/** A schema with its `$ref` (to the document's components) followed. */
function resolve(document: OpenApiDocument, schema: JsonObject): JsonObject {
  const ref = schema.$ref
  if (typeof ref !== 'string') return schema
  const name = ref.replace('#/components/schemas/', '')
  return document.components.schemas[name] ?? {}
}

const asSchemas = (value: unknown): JsonObject[] => (Array.isArray(value) ? value : [])
const asObject = (value: unknown): JsonObject =>
  typeof value === 'object' && value !== null ? (value as JsonObject) : {}

/** A schema's type in a few words: `integer ≥ 0`, `"daily" | "weekly"`, `string or null`. */
function typeLabel(document: OpenApiDocument, raw: JsonObject): string {
  const schema = resolve(document, raw)
  if ('const' in schema) return JSON.stringify(schema.const)
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ')
  const union = asSchemas(schema.anyOf ?? schema.oneOf)
  if (union.length > 0) return union.map((s) => typeLabel(document, s)).join(' or ')
  const types = Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type ?? 'any')
  const limits: string[] = []
  if (schema.type === 'array') {
    const items = asObject(schema.items)
    return schema.maxItems === 0 ? 'empty array' : `array of ${typeLabel(document, items)}`
  }
  if (typeof schema.minimum === 'number' && schema.minimum > Number.MIN_SAFE_INTEGER)
    limits.push(`≥ ${schema.minimum}`)
  if (typeof schema.maximum === 'number' && schema.maximum < Number.MAX_SAFE_INTEGER)
    limits.push(`≤ ${schema.maximum}`)
  if (typeof schema.minLength === 'number' && schema.minLength > 0)
    limits.push(`${schema.minLength}+ chars`)
  if (typeof schema.maxLength === 'number') limits.push(`≤ ${schema.maxLength} chars`)
  if (typeof schema.pattern === 'string') limits.push(`matching ${schema.pattern}`)
  return [types, ...limits].join(', ')
}

/** One row of a schema's field table: a dotted name (`daily[].date`) and its schema. */
interface Field {
  name: string
  required: boolean
  schema: JsonObject
}

/** The fields of an object schema, nested objects and arrays of objects flattened. */
function fieldsOf(document: OpenApiDocument, raw: JsonObject, prefix = ''): Field[] {
  const schema = resolve(document, raw)
  const properties = asObject(schema.properties)
  const required = Array.isArray(schema.required) ? schema.required : []
  return Object.entries(properties).flatMap(([name, value]) => {
    const field = resolve(document, asObject(value))
    const fullName = `${prefix}${name}`
    const own = { name: fullName, required: required.includes(name), schema: field }
    if (field.type === 'object' && field.properties) {
      return [own, ...fieldsOf(document, field, `${fullName}.`)]
    }
    const items = resolve(document, asObject(field.items))
    if (field.type === 'array' && items.properties) {
      return [own, ...fieldsOf(document, items, `${fullName}[].`)]
    }
    return [own]
  })
}

/** A plausible value of a schema: its example, const, default or first choice, else a placeholder. */
function exampleOf(document: OpenApiDocument, raw: JsonObject, depth = 0): unknown {
  const schema = resolve(document, raw)
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0]
  if ('const' in schema) return schema.const
  if (schema.default !== undefined) return schema.default
  if (Array.isArray(schema.enum)) return schema.enum[0]
  const union = asSchemas(schema.anyOf ?? schema.oneOf)
  if (union[0]) return exampleOf(document, union[0], depth + 1)
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  if (depth > 8) return null
  switch (type) {
    case 'object': {
      const properties = asObject(schema.properties)
      return Object.fromEntries(
        Object.entries(properties).map(([name, value]) => [
          name,
          exampleOf(document, asObject(value), depth + 1),
        ]),
      )
    }
    case 'array':
      return schema.maxItems === 0 ? [] : [exampleOf(document, asObject(schema.items), depth + 1)]
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? Math.max(0, schema.minimum) : 0
    case 'boolean':
      return false
    case 'string':
      return 'string'
    default:
      return null
  }
}

/** A description's text, its `backquoted` parts as code (the document's only markup). */
function Prose({ text }: { text: string }) {
  return (
    <>
      {text
        .split('`')
        .map((part, i) => (i % 2 === 1 ? <code safe>{part}</code> : escapeHtml(part)))}
    </>
  )
}

function Description({ text }: { text: unknown }) {
  return typeof text === 'string' ? (
    <small>
      <Prose text={text} />
    </small>
  ) : (
    ''
  )
}

/** A schema as a table of its fields (an object), or its type in words (anything else). */
function SchemaView({ document, schema }: { document: OpenApiDocument; schema: JsonObject }) {
  const resolved = resolve(document, schema)
  const fields = fieldsOf(document, resolved)
  const intro =
    typeof resolved.description === 'string' ? (
      <p>
        <Prose text={resolved.description} />
      </p>
    ) : (
      ''
    )
  if (fields.length === 0) {
    return (
      <>
        {intro}
        <p>
          <code safe>{typeLabel(document, resolved)}</code>
        </p>
      </>
    )
  }
  return (
    <>
      {intro}
      <div class="overflow-auto">
        <table class="striped">
          <thead>
            <tr>
              <th>Field</th>
              <th>Type</th>
              <th>Required</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {fields.map((f) => (
              <tr>
                <td>
                  <code safe>{f.name}</code>
                </td>
                <td safe>{typeLabel(document, f.schema)}</td>
                <td>{f.required ? 'yes' : 'no'}</td>
                <td>
                  <Description text={f.schema.description} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}

function Parameters({
  document,
  parameters,
}: {
  document: OpenApiDocument
  parameters: OpenApiParameter[]
}) {
  return (
    <>
      <h4>Parameters</h4>
      <div class="overflow-auto">
        <table class="striped">
          <thead>
            <tr>
              <th>Name</th>
              <th>In</th>
              <th>Type</th>
              <th>Required</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {parameters.map((p) => (
              <tr>
                <td>
                  <code safe>{p.name}</code>
                </td>
                <td safe>{p.in}</td>
                <td safe>{typeLabel(document, p.schema)}</td>
                <td>{p.required ? 'yes' : 'no'}</td>
                <td>
                  <Description text={p.description} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}

/** A media type's example: the one written in the document, else one built from its schema. */
function exampleText(document: OpenApiDocument, media: OpenApiMedia): string {
  const value = media.example !== undefined ? media.example : exampleOf(document, media.schema)
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2)
}

function ResponseView({
  document,
  status,
  response,
}: {
  document: OpenApiDocument
  status: string
  response: OpenApiResponse
}) {
  const headers = Object.entries(response.headers ?? {})
  return (
    <div class="docs-response">
      <p>
        <span class={`status-code status-${status[0]}xx`} safe>
          {status}
        </span>{' '}
        <Prose text={response.description} />
      </p>
      {headers.length > 0 ? (
        <p>
          <small>Headers: </small>
          {headers.map(([name, h], i) => (
            <>
              {i > 0 ? ', ' : ''}
              <code safe>{name}</code> <small safe>{`(${h.description})`}</small>
            </>
          ))}
        </p>
      ) : (
        ''
      )}
      {Object.entries(response.content ?? {}).map(([type, media]) => (
        <>
          <p>
            <small>Example </small>
            <code safe>{type}</code>
          </p>
          <pre>
            <code safe>{exampleText(document, media)}</code>
          </pre>
          <details>
            <summary>Schema</summary>
            <SchemaView document={document} schema={media.schema} />
          </details>
        </>
      ))}
    </div>
  )
}

const anchor = (e: Endpoint) => `op-${e.operation.operationId}`

function EndpointView({ document, endpoint }: { document: OpenApiDocument; endpoint: Endpoint }) {
  const { operation } = endpoint
  const security = operation.security.flatMap((s) => Object.keys(s))
  return (
    <section class="card docs-endpoint" id={anchor(endpoint)}>
      <h3>
        <span class={`method method-${endpoint.method.toLowerCase()}`} safe>
          {endpoint.method}
        </span>{' '}
        <code safe>{endpoint.path}</code>
      </h3>
      <p>
        <strong>
          <Prose text={operation.summary} />
        </strong>
      </p>
      <p>
        <Prose text={operation.description} />
      </p>
      <p>
        Authentication:{' '}
        {security.length === 0
          ? 'none'
          : security.map((name, i) => (
              <>
                {i > 0 ? ' or ' : ''}
                <a href={`#auth-${name}`} safe>
                  {name}
                </a>
              </>
            ))}
      </p>
      {operation.parameters?.length ? (
        <Parameters document={document} parameters={operation.parameters} />
      ) : (
        ''
      )}
      {operation.requestBody ? (
        <>
          <h4>Request body{operation.requestBody.required ? '' : ' (optional)'}</h4>
          <p>
            <Prose text={operation.requestBody.description} />
          </p>
          {Object.entries(operation.requestBody.content).map(([type, media]) => (
            <details>
              <summary>
                <code safe>{type}</code>
              </summary>
              <SchemaView document={document} schema={media.schema} />
            </details>
          ))}
        </>
      ) : (
        ''
      )}
      <h4>Responses</h4>
      {Object.entries(operation.responses).map(([status, response]) => (
        <ResponseView document={document} status={status} response={response} />
      ))}
    </section>
  )
}

/** `GET /docs`: the OpenAPI document as a page (a pure view of the document). */
export function DocsPage({ document }: { document: OpenApiDocument }) {
  const endpoints = endpointsOf(document)
  return (
    <Layout title={`${document.info.title} · mida-export`}>
      <main class="container docs">
        <header>
          <h1 safe>{document.info.title}</h1>
          <p>
            <Prose text={document.info.description} />
          </p>
          <p>
            Version <code safe>{document.info.version}</code> · server{' '}
            <code safe>{document.servers[0]?.url ?? ''}</code> · OpenAPI{' '}
            <code safe>{document.openapi}</code>: <a href="/openapi.json">openapi.json</a>
          </p>
        </header>
        <nav aria-label="Endpoints">
          <ul class="docs-index">
            {endpoints.map((e) => (
              <li>
                <a href={`#${anchor(e)}`}>
                  <span class={`method method-${e.method.toLowerCase()}`} safe>
                    {e.method}
                  </span>{' '}
                  <code safe>{e.path}</code>
                </a>{' '}
                <small>
                  <Prose text={e.operation.summary} />
                </small>
              </li>
            ))}
          </ul>
        </nav>
        <section class="card">
          <h2>Authentication</h2>
          <div class="overflow-auto">
            <table class="striped">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Sent as</th>
                  <th>Description</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(document.components.securitySchemes).map(([name, scheme]) => (
                  <tr id={`auth-${name}`}>
                    <td>
                      <code safe>{name}</code>
                    </td>
                    <td safe>
                      {scheme.type === 'http'
                        ? `Authorization: Bearer <key>`
                        : `${String(scheme.in)} ${String(scheme.name)}`}
                    </td>
                    <td>
                      <Description text={scheme.description} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        {document.tags.map((tag) => (
          <>
            <h2 safe>{tag.name}</h2>
            <p>
              <Prose text={tag.description} />
            </p>
            {endpoints
              .filter((e) => e.operation.tags.includes(tag.name))
              .map((e) => (
                <EndpointView document={document} endpoint={e} />
              ))}
          </>
        ))}
        <footer class="muted">
          <a href="/settings">Settings</a> · <a href="/openapi.json">openapi.json</a>
        </footer>
      </main>
    </Layout>
  )
}
