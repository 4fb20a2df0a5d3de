import type { Delivery } from '../../src/domain/destinations.ts'
import { attrText, CopyRow } from '../fields.tsx'
import { StoreTime, Table } from '../table.tsx'
import { type DestinationsModel, modelOf, type SettingsSection } from './types.ts'

/** A destination just added: a webhook's signing secret, shown once with its Copy button. */
function AddedPanel({ model }: { model: DestinationsModel }) {
  const added = model.added
  if (!added) return ''
  const { destination, secret } = added
  return (
    <div class="new-key" role="status">
      <p>
        <strong>
          Destination <q safe>{destination.name}</q> added.
        </strong>{' '}
        {secret === null
          ? 'Each sync of the last completed period is posted to it.'
          : 'Its signing secret checks the X-Mida-Signature header of each delivery. Copy it now: it is not shown again.'}
      </p>
      {secret === null ? '' : <CopyRow id="new-destination-secret" text={secret} secret />}
    </div>
  )
}

/** What "Send test" did: the destination's answer, or why it failed. */
function TestResult({ model }: { model: DestinationsModel }) {
  const tested = model.tested
  if (!tested) return ''
  const { destination, delivery } = tested
  const ok = delivery.status === 'sent'
  return (
    <p
      id="destination-test-result"
      class={ok ? 'status status-success' : 'error'}
      role={ok ? 'status' : 'alert'}
      data-outcome={delivery.status}
      safe
    >
      {ok
        ? `Test delivered to "${destination.name}": ${delivery.response ?? ''}.`
        : `Test to "${destination.name}" failed: ${delivery.lastError ?? ''}.`}
    </p>
  )
}

const TONE: Record<Delivery['status'], string> = {
  sent: 'success',
  queued: 'pending',
  retrying: 'pending',
  failed: 'failed',
}

/** A destination's last deliveries. */
function Deliveries({ deliveries, timeZone }: { deliveries: Delivery[]; timeZone: string }) {
  return (
    <Table
      columns={['Queued', 'Event', 'Status', 'Attempts', 'Last answer']}
      empty="No delivery yet."
      rows={deliveries.map((d) => (
        <tr data-delivery-id={String(d.id)}>
          <td>
            <StoreTime ms={d.createdAt} timeZone={timeZone} />
          </td>
          <td safe>{d.periodLabel ? `${d.event} ${d.periodLabel}` : d.event}</td>
          <td>
            <span class={`status status-${TONE[d.status]}`} safe>
              {d.status}
            </span>
            {d.nextAttemptAt !== null && d.status === 'retrying' ? (
              <small class="muted">
                {' next try '}
                <StoreTime ms={d.nextAttemptAt} timeZone={timeZone} />
              </small>
            ) : (
              ''
            )}
          </td>
          <td>{String(d.attempts)}</td>
          <td>
            <small safe>{d.lastError ?? d.response ?? ''}</small>
          </td>
        </tr>
      ))}
    />
  )
}

/** The destinations fragment (`#destinations`): Add, the list with each one's deliveries. */
export function Destinations({ model }: { model: DestinationsModel }) {
  const typed = model.form
  const { timeZone: tz } = model
  return (
    <div id="destinations">
      <AddedPanel model={model} />
      <TestResult model={model} />
      <div class="key-create">
        <label for="new-destination-type">
          Type
          <select id="new-destination-type" name="type" form="new-destination-form">
            <option value="webhook" selected={(typed?.type ?? 'webhook') === 'webhook'}>
              Webhook (signed JSON)
            </option>
            <option value="slack" selected={typed?.type === 'slack'}>
              Slack / Discord message
            </option>
          </select>
        </label>
        <label for="new-destination-url">
          URL
          <input
            id="new-destination-url"
            name="url"
            form="new-destination-form"
            type="url"
            maxlength="2000"
            autocomplete="off"
            placeholder="https://hooks.slack.com/services/…"
            value={attrText(typed?.url ?? '')}
            aria-invalid={typed ? 'true' : undefined}
            aria-describedby={typed ? 'new-destination-error' : undefined}
          />
        </label>
        <label for="new-destination-name">
          Name
          <input
            id="new-destination-name"
            name="name"
            form="new-destination-form"
            type="text"
            maxlength="100"
            placeholder="e.g. Team Slack"
            value={attrText(typed?.name ?? '')}
          />
        </label>
        <button type="submit" form="new-destination-form">
          Add destination
        </button>
      </div>
      {typed ? (
        <small id="new-destination-error" class="field-error" role="alert" safe>
          {typed.error}
        </small>
      ) : (
        ''
      )}
      {model.destinations.length === 0 ? (
        <p class="empty">No destinations yet. Add a webhook or a Slack incoming-webhook URL.</p>
      ) : (
        model.destinations.map(({ destination: d, deliveries }) => (
          <article id={`destination-${d.id}`} class="destination">
            <header>
              <strong safe>{d.name}</strong>{' '}
              <small class="muted" safe>{`${d.type} · ${d.urlHint} · added `}</small>
              <small class="muted">
                <StoreTime ms={d.createdAt} timeZone={tz} />
              </small>
            </header>
            <div class="actions">
              <button
                type="button"
                class="secondary outline"
                hx-post={`${model.base}/settings/destinations/${d.id}/test`}
                hx-target="#destinations"
                hx-swap="outerHTML"
              >
                Send test
              </button>
              <button
                type="button"
                class="destructive outline"
                hx-post={`${model.base}/settings/destinations/${d.id}/remove`}
                hx-target="#destinations"
                hx-swap="outerHTML"
                hx-confirm={attrText(
                  `Remove the destination "${d.name}"? Its syncs are no longer posted there.`,
                )}
              >
                Remove
              </button>
            </div>
            <Deliveries deliveries={deliveries} timeZone={tz} />
          </article>
        ))
      )}
    </div>
  )
}

/** "Destinations": where each sync is pushed (webhooks, Slack), with their deliveries. */
export const destinationsSection: SettingsSection = {
  id: 'destinations',
  title: 'Destinations',
  intro:
    'Each sync of the last completed period is pushed to these, once per period: a signed webhook, or a Slack (or Discord …/slack) message.',
  fields: false,
  models: ['destinations'],
  render(view) {
    return <Destinations model={modelOf(view, 'destinations')} />
  },
  forms(view) {
    return (
      <form
        id="new-destination-form"
        method="post"
        action={`${view.base}/settings/destinations`}
        hx-post={`${view.base}/settings/destinations`}
        hx-target="#destinations"
        hx-swap="outerHTML"
      >
        <input type="hidden" name="_csrf" value={view.csrfToken} />
      </form>
    )
  },
}
