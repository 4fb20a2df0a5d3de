import {
  type NotificationPayload,
  notificationSubject,
  type Outcome,
} from '../../src/domain/notifications.ts'
import {
  formatCount,
  formatMoney,
  formatStoreTime,
  formatStoreTimeWithZone,
} from '../../src/lib/format.ts'
import { emailHtml, type RenderedEmail } from './document.ts'

/** What a sync notification says, worded; both bodies show exactly this. */
export interface NotificationEmailModel {
  subject: string
  outcome: Outcome
  headline: string
  /** The labelled lines (store, status, times, figures or error), in order. */
  facts: [label: string, value: string][]
  /** The sentence after the facts. */
  closing: string
  settingsUrl: string
}

/** Words a stored notification payload for the email. */
export function notificationEmailModel(
  p: NotificationPayload,
  baseUrl: string,
): NotificationEmailModel {
  const zone = p.period.timezone
  const synced = Temporal.Instant.from(p.synced_at)
  const start = formatStoreTime(Temporal.Instant.from(p.period.start), zone)
  const end = formatStoreTime(Temporal.Instant.from(p.period.end), zone)
  const success = p.outcome === 'success'
  const facts: [string, string][] = [
    ['Store', p.store_name],
    ['Status', success ? 'Success' : 'Failed'],
    ['Synced at', formatStoreTimeWithZone(synced, zone)],
    ['Period', `${p.period.label} (${p.frequency}, ${start} to ${end})`],
    ['Triggered by', p.trigger],
  ]
  if (p.figures) {
    facts.push(
      ['Visitors', formatCount(p.figures.total_visitors)],
      ['Sessions', formatCount(p.figures.total_sessions)],
      ['Successful orders', formatCount(p.figures.successful_orders)],
      ['Revenue', formatMoney(p.figures.total_revenue, p.currency)],
    )
  }
  if (p.error !== undefined) facts.push(['Error', p.error])
  return {
    subject: notificationSubject(p.outcome, synced, zone),
    outcome: p.outcome,
    headline: `The ${p.frequency} analytics sync of ${p.period.label} ${success ? 'succeeded' : 'failed'}.`,
    facts,
    closing: success
      ? 'The figures are what POST /apiv1/analytics/sync returns for this period.'
      : 'API clients asking for this period get "Sync failed" until a sync succeeds; the server log has the details.',
    // The store's own page: `/settings` is the first store of whoever opens it.
    settingsUrl: `${baseUrl.replace(/\/+$/, '')}${p.store_slug ? `/stores/${p.store_slug}` : ''}/settings`,
  }
}

/** The plain-text body: the facts as aligned `Label: value` lines. */
function notificationText(m: NotificationEmailModel): string {
  const width = Math.max(...m.facts.map(([label]) => label.length)) + 2
  return [
    m.headline,
    '',
    ...m.facts.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
    '',
    m.closing,
    '',
    `Settings: ${m.settingsUrl}`,
    '',
    '-- mida-export',
    '',
  ].join('\n')
}

// Inline styles only: mail clients drop <style> blocks and never load the app's CSS.
const LABEL_STYLE = 'text-align:left;padding:4px 16px 4px 0;color:#59636e;font-weight:600'

/** The HTML body of a sync notification. */
function NotificationEmail({ model: m }: { model: NotificationEmailModel }) {
  const color = m.outcome === 'success' ? '#1a7f37' : '#cf222e'
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title safe>{m.subject}</title>
      </head>
      <body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2328;margin:0;padding:24px">
        <h1 style={`font-size:20px;margin:0 0 12px;color:${color}`} safe>
          {m.headline}
        </h1>
        <table style="border-collapse:collapse;font-size:14px">
          {m.facts.map(([label, value]) => (
            <tr>
              <th style={LABEL_STYLE} safe>
                {label}
              </th>
              <td style="padding:4px 0" safe>
                {value}
              </td>
            </tr>
          ))}
        </table>
        <p style="font-size:14px" safe>
          {m.closing}
        </p>
        <p style="font-size:14px">
          <a href={m.settingsUrl}>Open the settings page</a>
        </p>
        <p style="font-size:12px;color:#59636e">mida-export</p>
      </body>
    </html>
  )
}

/** The subject and the text and HTML bodies of a sync notification, from its stored payload. */
export function renderNotification(p: NotificationPayload, baseUrl: string): RenderedEmail {
  const model = notificationEmailModel(p, baseUrl)
  return {
    subject: model.subject,
    text: notificationText(model),
    html: emailHtml(<NotificationEmail model={model} />),
  }
}
