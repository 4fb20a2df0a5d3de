import { describeSmtpTarget, type SmtpTarget } from '../../src/domain/mailer.ts'
import { SelectField, TextField } from '../fields.tsx'
import { Refreshable, StoreTime, Table } from '../table.tsx'
import { modelOf, type OutboxModel, type SettingsSection } from './types.ts'

/** Where mail goes now, or how to set it up when it goes nowhere. */
function SmtpSource({ target, mailFrom }: { target: SmtpTarget | null; mailFrom: string }) {
  if (!target) {
    return (
      <div id="smtp-source" class="smtp-note" role="note">
        <p>
          <strong>No SMTP server is configured</strong>: notification emails wait in the outbox as
          "not sendable" (for up to 24 hours). Fill in your provider's SMTP server below and Save,
          or start the server with <code>MIDA_SMTP_URL=smtp://user:pass@host:587</code>.
        </p>
        <p class="muted">
          Common settings: port 587 with STARTTLS, or 465 with TLS. Gmail: smtp.gmail.com, 587,
          STARTTLS, your address and an app password (Google Account → Security → App passwords).
          Microsoft 365: smtp.office365.com, 587, STARTTLS. A local relay: port 25, no encryption.
        </p>
      </div>
    )
  }
  if (target.source === 'env') {
    return (
      <p id="smtp-source" class="smtp-note" role="note">
        Mail goes through <code>MIDA_SMTP_URL</code> ({describeSmtpTarget(target)}) from{' '}
        <code safe>{mailFrom}</code>. It overrides the fields below while it is set.
      </p>
    )
  }
  return (
    <p id="smtp-source" class="smtp-note" role="note">
      Mail goes through <span safe>{describeSmtpTarget(target)}</span> from{' '}
      <code safe>{target.from}</code>.
    </p>
  )
}

/** The outbox fragment (`#outbox`): recent notification emails and what became of them. */
export function Outbox({ model }: { model: OutboxModel }) {
  const { rows, timeZone: tz } = model
  return (
    <Refreshable id="outbox" path={`${model.base}/settings/notifications/outbox`}>
      <h3>Outbox</h3>
      <Table
        columns={['Queued', 'Subject', 'To', 'Status', 'Attempts', 'Last answer']}
        empty="No notification email yet."
        rows={rows.map((r) => {
          const label = r.label
          const tone =
            label === 'sent'
              ? 'success'
              : label === 'queued' || label === 'retrying'
                ? 'pending'
                : 'failed'
          return (
            <tr data-outbox-id={String(r.id)}>
              <td>
                <StoreTime ms={r.createdAt} timeZone={tz} />
              </td>
              <td safe>{r.subject}</td>
              <td safe>{r.recipient || '–'}</td>
              <td>
                <span class={`status status-${tone}`} safe>
                  {label}
                </span>
                {r.nextTryAt !== null ? (
                  <small class="muted">
                    {' next try '}
                    <StoreTime ms={r.nextTryAt} timeZone={tz} />
                  </small>
                ) : (
                  ''
                )}
              </td>
              <td>{String(r.attempts)}</td>
              <td>
                <small safe>{r.lastAnswer ?? ''}</small>
              </td>
            </tr>
          )
        })}
      />
    </Refreshable>
  )
}

/** The answer of "Send test email": what the SMTP server said, or why nothing was sent. */
export function TestEmailResult({
  outcome,
  message,
}: {
  outcome: 'sent' | 'failed' | 'invalid'
  message: string
}) {
  return (
    <p
      id="smtp-test-result"
      class={outcome === 'sent' ? 'status status-success' : 'error'}
      role={outcome === 'sent' ? 'status' : 'alert'}
      data-outcome={outcome}
      safe
    >
      {message}
    </p>
  )
}

/** "Email delivery (SMTP)": the server notifications go through, a test button, the outbox. */
export const smtpSection: SettingsSection = {
  id: 'smtp',
  title: 'Email delivery (SMTP)',
  intro: 'The mail server that sends the sync notifications.',
  fields: true,
  models: ['outbox'],
  render(view) {
    const { server, settings, state } = view
    return (
      <>
        <SmtpSource target={view.smtp} mailFrom={server.mailFrom} />
        <div class="grid">
          <TextField
            name="smtp_host"
            label="SMTP host"
            placeholder="smtp.example.com"
            autocomplete="off"
            state={state}
          />
          <TextField
            name="smtp_port"
            label="Port"
            type="number"
            min={1}
            max={65535}
            placeholder="587"
            help="Empty: 587 (STARTTLS), 465 (TLS), 25 (none)."
            state={state}
          />
          <SelectField
            name="smtp_security"
            label="Security"
            state={state}
            options={[
              ['starttls', 'STARTTLS (port 587)'],
              ['tls', 'TLS (port 465)'],
              ['none', 'None (local relay only)'],
            ]}
          />
        </div>
        <div class="grid">
          <TextField
            name="smtp_user"
            label="User name"
            autocomplete="off"
            help="Empty: no login."
            state={state}
          />
          <TextField
            name="smtp_password"
            label="Password"
            type="password"
            autocomplete="new-password"
            placeholder={settings.smtp_password ? 'saved (leave empty to keep it)' : ''}
            help={settings.smtp_password ? 'A password is saved; it is never shown.' : undefined}
            state={state}
          />
          <TextField
            name="smtp_from"
            label="Sender address"
            type="email"
            placeholder={server.mailFrom}
            help={`Empty: ${server.mailFrom}.`}
            state={state}
          />
        </div>
        <div class="smtp-test">
          <button
            type="button"
            class="secondary"
            hx-post={`${view.base}/settings/notifications/test`}
            hx-include="closest form"
            hx-target="#smtp-test-result"
            hx-swap="outerHTML"
          >
            Send test email
          </button>
          <small class="muted">
            {' '}
            Sends to the Recipient (or the store email) with the values above, saved or not.
          </small>
          <p id="smtp-test-result" aria-live="polite"></p>
        </div>
        <Outbox model={modelOf(view, 'outbox')} />
      </>
    )
  },
}
