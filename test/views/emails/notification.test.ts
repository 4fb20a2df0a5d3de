import { describe, expect, test } from 'bun:test'
import type { NotificationPayload } from '../../../src/domain/notifications.ts'
import { notificationEmailModel, renderNotification } from '../../../views/emails/notification.tsx'

// A stored payload as plain data: rendering needs no database, no app, no clock.
const SUCCESS: NotificationPayload = {
  outcome: 'success',
  store_name: 'Acme <script>alert("x")</script> & Co',
  frequency: 'daily',
  period: {
    start: '2026-11-25T05:00:00.000Z',
    end: '2026-11-26T05:00:00.000Z',
    label: '2026-11-25',
    timezone: 'America/New_York',
  },
  synced_at: '2026-11-26T06:00:12.345Z',
  trigger: 'scheduler',
  currency: 'EUR',
  figures: {
    total_visitors: 12_345,
    total_sessions: 23_456,
    successful_orders: 7,
    total_revenue: 1300.49,
  },
}

const FAILURE: NotificationPayload = {
  ...SUCCESS,
  outcome: 'failed',
  figures: undefined,
  error: 'no such table: <orders>',
}

/** The `<th>`/`<td>` pairs of the facts table, as written in the HTML. */
function htmlFacts(html: string): [string, string][] {
  return [...html.matchAll(/<tr><th [^>]*>(.*?)<\/th><td [^>]*>(.*?)<\/td><\/tr>/g)].map((m) => [
    m[1]!,
    m[2]!,
  ])
}

describe('the notification email, rendered from its payload', () => {
  test('the HTML part: title, headline, one row per fact, the settings link', () => {
    const { html } = renderNotification(SUCCESS, 'https://stats.acme.test/')
    expect(html).toStartWith(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"/><title>[Analytics Sync] Success - 2026-11-26 01:00</title></head>',
    )
    expect(html).toContain(
      '<h1 style="font-size:20px;margin:0 0 12px;color:#1a7f37">The daily analytics sync of 2026-11-25 succeeded.</h1>',
    )
    expect(htmlFacts(html)).toEqual([
      ['Store', 'Acme &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co'],
      ['Status', 'Success'],
      ['Synced at', '2026-11-26 01:00 (America/New_York)'],
      ['Period', '2026-11-25 (daily, 2026-11-25 00:00 to 2026-11-26 00:00)'],
      ['Triggered by', 'scheduler'],
      ['Visitors', '12,345'],
      ['Sessions', '23,456'],
      ['Successful orders', '7'],
      ['Revenue', '€1,300.49'],
    ])
    expect(html).toContain(
      '<p style="font-size:14px"><a href="https://stats.acme.test/settings">Open the settings page</a></p>',
    )
    expect(html).toEndWith('<p style="font-size:12px;color:#59636e">mida-export</p></body></html>')
  })

  test('the store name is escaped in the HTML part and kept verbatim in the text part', () => {
    const { html, text } = renderNotification(SUCCESS, 'https://stats.acme.test')
    expect(html).not.toContain('<script>')
    expect(html).toContain(
      '<td style="padding:4px 0">Acme &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</td>',
    )
    expect(text).toContain('\nStore:             Acme <script>alert("x")</script> & Co\n')
  })

  test('a failure: red headline, the error escaped as a fact, no figures', () => {
    const { subject, html, text } = renderNotification(FAILURE, 'http://127.0.0.1:8080')
    expect(subject).toBe('[Analytics Sync] Failed - 2026-11-26 01:00')
    expect(html).toContain(
      '<h1 style="font-size:20px;margin:0 0 12px;color:#cf222e">The daily analytics sync of 2026-11-25 failed.</h1>',
    )
    expect(htmlFacts(html).at(-1)).toEqual(['Error', 'no such table: &lt;orders&gt;'])
    expect(html).toContain(
      '<p style="font-size:14px">API clients asking for this period get &quot;Sync failed&quot; until a sync succeeds; the server log has the details.</p>',
    )
    expect(html).not.toContain('Revenue')
    expect(text).toBe(
      [
        'The daily analytics sync of 2026-11-25 failed.',
        '',
        'Store:        Acme <script>alert("x")</script> & Co',
        'Status:       Failed',
        'Synced at:    2026-11-26 01:00 (America/New_York)',
        'Period:       2026-11-25 (daily, 2026-11-25 00:00 to 2026-11-26 00:00)',
        'Triggered by: scheduler',
        'Error:        no such table: <orders>',
        '',
        'API clients asking for this period get "Sync failed" until a sync succeeds; the server log has the details.',
        '',
        'Settings: http://127.0.0.1:8080/settings',
        '',
        '-- mida-export',
        '',
      ].join('\n'),
    )
  })

  test('both parts show the same facts, from one model', () => {
    const model = notificationEmailModel(SUCCESS, 'https://stats.acme.test')
    const { html, text } = renderNotification(SUCCESS, 'https://stats.acme.test')
    expect(htmlFacts(html).map(([label]) => label)).toEqual(model.facts.map(([label]) => label))
    for (const [label, value] of model.facts) {
      expect(text).toContain(`${label}:`)
      expect(text).toContain(value)
      expect(html).toContain(Bun.escapeHTML(value))
    }
  })
})
