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
import type { RenderedEmail } from './document.ts'
import { type FactsEmailModel, renderFactsEmail } from './factsEmail.tsx'

/**
 * What a sync notification says, worded (its facts: store, status, times, figures or error);
 * both bodies show exactly this.
 */
export interface NotificationEmailModel extends Omit<FactsEmailModel, 'color'> {
  outcome: Outcome
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

/** The subject and the text and HTML bodies of a sync notification, from its stored payload. */
export function renderNotification(p: NotificationPayload, baseUrl: string): RenderedEmail {
  const model = notificationEmailModel(p, baseUrl)
  return renderFactsEmail({ ...model, color: model.outcome === 'success' ? '#1a7f37' : '#cf222e' })
}
