import { attrText } from '../fields.tsx'
import { StoreTime, Table } from '../table.tsx'
import { type ApiKeysModel, modelOf, type SettingsSection } from './types.ts'

/** The ready-to-run cURL command of the MIDA documentation, for one key. */
function curlCommand(baseUrl: string, key: string): string {
  return `curl -X POST ${baseUrl}/apiv1/analytics/sync -H "Content-Type: application/json" -H "x-mida-secret-key: ${key}"`
}

function When({ ms, timeZone }: { ms: number | null; timeZone: string }) {
  if (ms === null) return <span>never</span>
  return <StoreTime ms={ms} timeZone={timeZone} />
}

/** In the new-key box while API Status is Deactivated: why the key gets 403, and the fix. */
function ApiOffWarning() {
  return (
    <div id="new-key-api-warning" class="new-key-warning" role="alert">
      <p>
        <strong>API Status is Deactivated</strong>: the sync API answers this key (and every other)
        with 403 "API is deactivated" until the API is activated.
      </p>
      <button type="submit" form="api-activate-form">
        Activate the API now
      </button>
    </div>
  )
}

/**
 * The new-key box's word on API Status, reloaded after every Save (`settings-saved`), so a Save
 * that switches the API on or off never leaves it stale: the warning while the API is off; once
 * a Save or "Activate the API now" switched it on, that the key works.
 */
export function ApiKeyState({
  base,
  apiEnabled,
  reloaded = false,
}: {
  base: string
  apiEnabled: boolean
  reloaded?: boolean
}) {
  return (
    <div
      id="new-key-api-state"
      hx-get={`${base}/settings/keys/api-state`}
      hx-trigger="settings-saved from:body"
      hx-swap="outerHTML"
    >
      {!apiEnabled ? <ApiOffWarning /> : reloaded ? <ApiActivatedNote /> : ''}
    </div>
  )
}

/** What replaces the warning once "Activate the API now" has saved `api_enabled=true`. */
export function ApiActivatedNote() {
  return (
    <p id="new-key-api-warning" class="status status-success" role="status">
      API Status is now Activated: the key works.
    </p>
  )
}

/** The outcome of "Test this key": the sync API's status and JSON, and a hint when refused. */
export function KeyTestResult({ status, body }: { status: number; body: string }) {
  let pretty = body
  let error = ''
  try {
    const parsed = JSON.parse(body) as { error?: unknown }
    pretty = JSON.stringify(parsed, null, 2)
    if (typeof parsed.error === 'string') error = parsed.error
  } catch {}
  const hint =
    status === 403 && error === 'API is deactivated'
      ? 'API Status is Deactivated: activate the API (the button above, or the API Status switch and Save), then test again.'
      : status === 401
        ? 'The key was not accepted: it was revoked or regenerated since.'
        : status === 429
          ? 'Too many failed key attempts from this address: wait, then test again.'
          : ''
  return (
    <>
      <p
        class={`status ${status < 400 ? 'status-success' : 'status-failed'}`}
        data-status={String(status)}
      >
        {`HTTP ${status}`}
      </p>
      {hint ? (
        <p class="key-test-hint" role="alert" safe>
          {hint}
        </p>
      ) : (
        ''
      )}
      <pre class="key-test-body">
        <code safe>{pretty}</code>
      </pre>
    </>
  )
}

/** The key just issued, shown once with its Copy button and the cURL command. */
function NewKeyPanel({ model }: { model: ApiKeysModel }) {
  const issued = model.newKey
  if (!issued) return ''
  const { key, secret } = issued
  return (
    <div class="new-key" role="status">
      <p>
        <strong>
          New secret key for <q safe>{key.name}</q> ({key.scope}).
        </strong>{' '}
        Copy it now: it is not shown again.
      </p>
      <div class="copy-row">
        <code id="new-key-value" class="secret" safe>
          {secret}
        </code>
        <button type="button" class="outline" data-copy="new-key-value">
          Copy
        </button>
      </div>
      {key.scope === 'export' ? (
        <>
          <ApiKeyState base={model.base} apiEnabled={model.apiEnabled} />
          <p>Ready cURL command:</p>
          <div class="copy-row">
            <code id="new-key-curl" safe>
              {curlCommand(model.baseUrl, secret)}
            </code>
            <button type="button" class="outline" data-copy="new-key-curl">
              Copy
            </button>
          </div>
          <div class="key-test">
            {/* Tied to its own form (after the settings form), so Save never sends the key. */}
            <input type="hidden" name="key" value={secret} form="key-test-form" />
            <button type="submit" class="outline" form="key-test-form">
              Test this key
            </button>
            <small class="muted">calls POST /apiv1/analytics/sync with it, as the cURL does</small>
          </div>
          <div id="key-test-result" aria-live="polite"></div>
        </>
      ) : (
        ''
      )}
    </div>
  )
}

/** The keys fragment (`#api-keys`): the new key if any, the generate inputs, the key list. */
export function ApiKeys({ model }: { model: ApiKeysModel }) {
  const { keys, timeZone } = model
  // The key this request revoked keeps its row (marked revoked), so nothing on the page moves.
  const shown = keys.filter((k) => k.revokedAt === null || k.id === model.revokedKey)
  const revoked = keys.length - shown.length
  const typed = model.keyForm
  return (
    <div id="api-keys">
      <NewKeyPanel model={model} />
      <div class="key-create">
        <label for="new-key-name">
          Key name
          <input
            id="new-key-name"
            name="name"
            form="new-key-form"
            type="text"
            maxlength="100"
            placeholder="e.g. Looker Studio"
            value={attrText(typed?.name ?? '')}
            aria-invalid={typed ? 'true' : undefined}
            aria-describedby={typed ? 'new-key-error' : undefined}
          />
        </label>
        <label for="new-key-scope">
          Scope
          <select id="new-key-scope" name="scope" form="new-key-form">
            <option value="export" selected={(typed?.scope ?? 'export') === 'export'}>
              export (sync API)
            </option>
            <option value="ingest" selected={typed?.scope === 'ingest'}>
              ingest (imports)
            </option>
          </select>
        </label>
        <button type="submit" form="new-key-form">
          Generate API Key
        </button>
      </div>
      {typed ? (
        <small id="new-key-error" class="field-error" role="alert" safe>
          {typed.error}
        </small>
      ) : (
        ''
      )}
      <Table
        columns={[
          'Name',
          'Key',
          'Scope',
          'Created',
          'Last used',
          <span class="visually-hidden">Actions</span>,
        ]}
        empty="No active keys yet. Generate one to call the sync API."
        rows={shown.map((k) => (
          <tr id={`key-${k.id}`} class={k.revokedAt === null ? undefined : 'revoked'}>
            <td class="key-name" safe>
              {k.name}
            </td>
            <td>
              <code safe>{`${k.prefix}…`}</code>
            </td>
            <td safe>{k.scope}</td>
            <td>
              <When ms={k.createdAt} timeZone={timeZone} />
            </td>
            <td>
              <When ms={k.lastUsedAt} timeZone={timeZone} />
            </td>
            <td class="actions">
              {k.revokedAt !== null ? (
                <span class="revoked-note">Revoked</span>
              ) : (
                <>
                  <button
                    type="button"
                    class="secondary outline"
                    hx-post={`${model.base}/settings/keys/${k.id}/regenerate`}
                    hx-target="#api-keys"
                    hx-swap="outerHTML"
                    hx-confirm={attrText(
                      `Regenerate the secret key of "${k.name}"? The current key stops working at once.`,
                    )}
                  >
                    Regenerate secret key
                  </button>
                  <button
                    type="button"
                    class="destructive outline"
                    hx-post={`${model.base}/settings/keys/${k.id}/revoke`}
                    hx-target="#api-keys"
                    hx-swap="outerHTML"
                    hx-confirm={attrText(
                      `Revoke the key "${k.name}"? Clients using it get 401 from now on.`,
                    )}
                  >
                    Revoke
                  </button>
                </>
              )}
            </td>
          </tr>
        ))}
      />
      {revoked > 0 ? (
        <p class="muted">
          {revoked} revoked key{revoked === 1 ? '' : 's'} not shown (
          <code>mida-export keys list</code> lists all).
        </p>
      ) : (
        ''
      )}
    </div>
  )
}

/** "Generate API Key", the key list, "Regenerate secret key" and revoke. */
export const apiKeysSection: SettingsSection = {
  id: 'api-keys',
  title: 'API Keys',
  intro: 'Each client gets its own named key; only a short prefix is kept in clear.',
  fields: false,
  models: ['apiKeys'],
  render(view) {
    return <ApiKeys model={modelOf(view, 'apiKeys')} />
  },
  forms(view) {
    return (
      <>
        <form
          id="new-key-form"
          method="post"
          action={`${view.base}/settings/keys`}
          hx-post={`${view.base}/settings/keys`}
          hx-target="#api-keys"
          hx-swap="outerHTML"
        >
          <input type="hidden" name="_csrf" value={view.csrfToken} />
        </form>
        <form
          id="api-activate-form"
          method="post"
          action={`${view.base}/settings/api/activate`}
          hx-post={`${view.base}/settings/api/activate`}
          hx-target="#new-key-api-warning"
          hx-swap="outerHTML"
        >
          <input type="hidden" name="_csrf" value={view.csrfToken} />
        </form>
        <form
          id="key-test-form"
          method="post"
          action={`${view.base}/settings/keys/test`}
          hx-post={`${view.base}/settings/keys/test`}
          hx-target="#key-test-result"
          hx-swap="innerHTML"
        >
          <input type="hidden" name="_csrf" value={view.csrfToken} />
        </form>
      </>
    )
  },
}
