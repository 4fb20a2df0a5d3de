import { escapeHtml } from '@kitajs/html'
import { type ApiKey, EXPIRY_WARNING_MS, expiresSoon, keyState } from '../../src/domain/keys.ts'
import { attrText, CopyRow } from '../fields.tsx'
import { StoreTime, Table } from '../table.tsx'
import { sheetsFormula } from './reports.tsx'
import { type ApiKeysModel, modelOf, type SettingsSection } from './types.ts'

/** The ready-to-run cURL command of the MIDA documentation, for one key. */
function curlCommand(baseUrl: string, key: string): string {
  return `curl -X POST ${baseUrl}/apiv1/analytics/sync -H "Content-Type: application/json" -H "x-mida-secret-key: ${key}"`
}

/** The choices of "Expires" (values `parseExpiry` reads; `date`: the date field's day). */
const EXPIRY_CHOICES: [value: string, label: string][] = [
  ['', 'never'],
  ['30d', 'in 30 days'],
  ['90d', 'in 90 days'],
  ['365d', 'in 1 year'],
  ['date', 'on a date…'],
]

/** The choices of the old key's grace period on "Regenerate secret key" (`parseGrace`). */
const GRACE_CHOICES: [value: string, label: string][] = [
  ['0', 'not at all (it stops at once)'],
  ['1h', 'for 1 hour'],
  ['24h', 'for 24 hours'],
  ['7d', 'for 7 days'],
]

/** How long until an instant, roughly: `in 3 days`, `in 5 hours`, `in under an hour`. */
function timeLeft(ms: number): string {
  const hours = Math.floor(ms / 3_600_000)
  if (hours < 1) return 'in under an hour'
  if (hours < 48) return `in ${hours} hour${hours === 1 ? '' : 's'}`
  return `in ${Math.floor(hours / 24)} days`
}

/**
 * The warning above the keys while a key stops within EXPIRY_WARNING_MS, or has stopped by its
 * expiry without being revoked: its clients are about to get (or already get) 401.
 */
function ExpiryBanner({ keys, now, timeZone }: { keys: ApiKey[]; now: number; timeZone: string }) {
  const soon = keys
    .filter((k) => expiresSoon(k, now) || keyState(k, now) === 'expired')
    .sort((a, b) => (a.expiresAt as number) - (b.expiresAt as number))
  if (soon.length === 0) return ''
  const days = EXPIRY_WARNING_MS / 86_400_000
  return (
    <div id="key-expiry-banner" class="notify-warning" role="alert">
      <p>
        <strong>API keys expire soon</strong>: the keys below stop answering within {String(days)}{' '}
        days (or have stopped). Regenerate each (or generate a new one) and give it to the clients
        that use it.
      </p>
      <ul>
        {soon.map((k) => (
          <li data-key-id={String(k.id)}>
            <q safe>{k.name}</q> ({k.scope}, <code safe>{`${k.prefix}…`}</code>){' '}
            {keyState(k, now) === 'expired' ? 'expired' : 'expires'}{' '}
            <StoreTime ms={k.expiresAt as number} timeZone={timeZone} />
          </li>
        ))}
      </ul>
    </div>
  )
}

/**
 * Under a key's name, where it stands when that is not simply "active, for ever": until when it
 * answers (warned within EXPIRY_WARNING_MS), until when its grace period lasts, since when it
 * has expired. A revoked key's row says so in its actions instead.
 */
function KeyStateLine({ k, now, timeZone }: { k: ApiKey; now: number; timeZone: string }) {
  const state = keyState(k, now)
  if (state === 'grace') {
    return (
      <small class="key-state key-state-grace">
        old key, answers until <StoreTime ms={k.revokedAt as number} timeZone={timeZone} />
      </small>
    )
  }
  if (state === 'revoked' || k.expiresAt === null) return ''
  if (state === 'expired') {
    return (
      <small class="key-state key-state-expired">
        expired <StoreTime ms={k.expiresAt} timeZone={timeZone} />
      </small>
    )
  }
  return (
    <small class="key-state key-state-active">
      expires <StoreTime ms={k.expiresAt} timeZone={timeZone} />
      {expiresSoon(k, now) ? (
        <>
          {' '}
          <mark class="key-expiry-badge" safe>
            {timeLeft(k.expiresAt - now)}
          </mark>
        </>
      ) : (
        ''
      )}
    </small>
  )
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
        {key.expiresAt !== null ? (
          <>
            {' '}
            It expires <StoreTime ms={key.expiresAt} timeZone={model.timeZone} />.
          </>
        ) : (
          ''
        )}
      </p>
      <CopyRow id="new-key-value" text={secret} secret />
      {key.scope === 'export' ? (
        <>
          <ApiKeyState base={model.base} apiEnabled={model.apiEnabled} />
          <p>Ready cURL command:</p>
          <CopyRow id="new-key-curl" text={curlCommand(model.baseUrl, secret)} />
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
      ) : key.scope === 'report' ? (
        <>
          <p>
            Google Sheets: put this formula in a cell; the sheet loads the report as CSV (the key is
            in it: share the sheet as you would the key).
          </p>
          <CopyRow id="new-key-sheets" text={sheetsFormula(model.baseUrl, secret)} />
        </>
      ) : (
        ''
      )}
    </div>
  )
}

/** The keys fragment (`#api-keys`): the new key if any, the generate inputs, the key list. */
export function ApiKeys({ model }: { model: ApiKeysModel }) {
  const { keys, timeZone, now } = model
  // The key this request revoked keeps its row (marked revoked), so nothing on the page moves;
  // a regenerated key in its grace period still answers, so it is listed.
  const shown = keys.filter((k) => keyState(k, now) !== 'revoked' || k.id === model.revokedKey)
  const revoked = keys.length - shown.length
  const typed = model.keyForm
  const expires = typed?.expires ?? ''
  return (
    <div id="api-keys">
      <ExpiryBanner keys={keys} now={now} timeZone={timeZone} />
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
            <option value="report" selected={typed?.scope === 'report'}>
              report (read-only: reports and spreadsheet links)
            </option>
          </select>
        </label>
        <label for="new-key-expires" class="key-expiry">
          Expires
          <select id="new-key-expires" name="expires" form="new-key-form">
            {EXPIRY_CHOICES.map(([value, label]) => (
              <option value={value} selected={expires === value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label for="new-key-expires-date" class="key-expiry-date">
          Expiry date
          <input
            id="new-key-expires-date"
            name="expires_date"
            form="new-key-form"
            type="date"
            value={attrText(typed?.expiresDate ?? '')}
          />
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
      {shown.length > 0 ? (
        <p class="regenerate-grace">
          <label for="regenerate-grace">
            On "Regenerate secret key", the old key keeps answering{' '}
            <select id="regenerate-grace" name="grace" form="key-regenerate-form">
              {GRACE_CHOICES.map(([value, label]) => (
                <option value={value}>{label}</option>
              ))}
            </select>
          </label>
        </p>
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
        rows={shown.map((k) => {
          const state = k.id === model.revokedKey ? 'revoked' : keyState(k, now)
          return (
            <tr id={`key-${k.id}`} class={state === 'active' ? undefined : state}>
              <td class="key-name">
                {escapeHtml(k.name)}
                <KeyStateLine k={k} now={now} timeZone={timeZone} />
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
                {state === 'revoked' ? (
                  <span class="revoked-note">Revoked</span>
                ) : state === 'grace' ? (
                  <button
                    type="button"
                    class="destructive outline"
                    hx-post={`${model.base}/settings/keys/${k.id}/revoke`}
                    hx-target="#api-keys"
                    hx-swap="outerHTML"
                    hx-confirm={attrText(
                      `Revoke the old key of "${k.name}" now? Its grace period ends: clients still using it get 401 from now on.`,
                    )}
                  >
                    Revoke
                  </button>
                ) : (
                  <>
                    <button
                      type="button"
                      class="secondary outline"
                      hx-post={`${model.base}/settings/keys/${k.id}/regenerate`}
                      hx-include="#regenerate-grace"
                      hx-target="#api-keys"
                      hx-swap="outerHTML"
                      hx-confirm={attrText(
                        `Regenerate the secret key of "${k.name}"? The current key stops working at once, or when the grace period chosen above ends.`,
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
          )
        })}
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
        {/* The grace choice's own form: never sent by Save, never marking the page unsaved. */}
        <form id="key-regenerate-form"></form>
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
