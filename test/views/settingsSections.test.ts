import { describe, expect, test } from 'bun:test'
import type { ApiKey } from '../../src/domain/keys.ts'
import { DEFAULT_SETTINGS } from '../../src/domain/settings.ts'
import { ApiKeys } from '../../views/settings/apiKeys.tsx'
import { AuditLog } from '../../views/settings/audit.tsx'
import { Overview } from '../../views/settings/dashboard.tsx'
import { Destinations } from '../../views/settings/destinations.tsx'
import { Outbox } from '../../views/settings/notifications.tsx'
import { SettingsPage } from '../../views/settings/page.tsx'
import { SyncLog } from '../../views/settings/syncLog.tsx'
import { TrackingToday } from '../../views/settings/tracking.tsx'
import { modelOf, type SectionModels, type SettingsView } from '../../views/settings/types.ts'

// Every view here renders from a literal model: no database, no app, no clock.

const NY = 'America/New_York'
/** 2026-11-25 14:30 UTC, 09:30 in New York. */
const AT = Date.UTC(2026, 10, 25, 14, 30)
const html = async (element: JSX.Element) => String(await element)

const LOOKER: ApiKey = {
  id: 7,
  storeId: 1,
  name: 'Looker <Studio>',
  scope: 'export',
  prefix: 'mida_ab12',
  createdAt: AT,
  lastUsedAt: null,
  revokedAt: null,
  expiresAt: null,
}

/** The store these views are of: its pages under /stores/corner. */
const BASE = '/stores/corner'
const CORNER = { slug: 'corner', name: 'Corner Shop', href: '/stores/corner/settings' }

const MODELS: SectionModels = {
  overview: {
    kind: 'checklist',
    base: BASE,
    steps: {
      apiEnabled: true,
      hasKey: false,
      dataIn: false,
      hasRecipient: true,
      smtpConfigured: false,
    },
    recipient: 'owner@shop.example',
  },
  apiKeys: {
    base: BASE,
    timeZone: NY,
    baseUrl: 'https://export.shop.example',
    apiEnabled: true,
    now: AT,
    keys: [
      LOOKER,
      {
        id: 3,
        storeId: 1,
        name: 'Old',
        scope: 'export',
        prefix: 'mida_zz99',
        createdAt: AT,
        lastUsedAt: AT,
        revokedAt: AT,
        expiresAt: null,
      },
    ],
  },
  trackingToday: { base: BASE, timeZone: NY, sessions: 1234, orders: 5 },
  syncLog: {
    base: BASE,
    timeZone: NY,
    records: [
      {
        id: 2,
        frequency: 'daily',
        periodLabel: '2026-11-24',
        status: 'failed',
        trigger: 'scheduler',
        error: 'Store is busy',
        syncedAt: AT,
        figures: null,
      },
    ],
    requests: [
      {
        storeId: 1,
        at: AT,
        keyId: null,
        address: '203.0.113.9',
        status: 401,
        durationMs: 0.25,
        error: 'Invalid API key',
        keyName: null,
        keyPrefix: null,
        count: 4,
      },
    ],
  },
  audit: {
    base: BASE,
    timeZone: NY,
    entries: [
      {
        id: 1,
        storeId: 1,
        at: AT,
        count: 1,
        actor: 'me@shop.example',
        address: null,
        action: 'settings.changed',
        detail: 'store_name, <timezone>',
      },
    ],
  },
  outbox: {
    base: BASE,
    timeZone: NY,
    rows: [
      {
        id: 9,
        createdAt: AT,
        subject: 'Sync failed',
        recipient: '',
        label: 'retrying',
        attempts: 2,
        nextTryAt: AT + 15 * 60_000,
        lastAnswer: '421 try later',
      },
    ],
  },
  reports: {
    base: BASE,
    baseUrl: 'https://export.shop.example',
    from: '2026-10-26',
    to: '2026-11-24',
    today: '2026-11-25',
  },
  destinations: {
    base: BASE,
    timeZone: NY,
    destinations: [
      {
        destination: {
          id: 4,
          storeId: 1,
          type: 'slack',
          name: 'Team <Slack>',
          urlHint: 'https://hooks.slack.com/services/…',
          createdAt: AT,
        },
        deliveries: [
          {
            id: 11,
            kind: 'sync',
            periodLabel: '2026-11-24',
            event: 'sync.succeeded',
            status: 'retrying',
            attempts: 2,
            lastError: 'HTTP 500',
            response: null,
            createdAt: AT,
            sentAt: null,
            nextAttemptAt: AT + 20_000,
          },
        ],
      },
    ],
  },
}

/** A whole settings view by hand: the saved defaults, every section's model. */
function literalView(models: Partial<SectionModels> = MODELS): SettingsView {
  const settings = { ...DEFAULT_SETTINGS, store_name: 'Corner Shop', timezone: NY }
  return {
    settings,
    state: { values: { ...settings, smtp_password: '', shopify_webhook_secret: '' }, errors: {} },
    csrfToken: 'csrf-token',
    base: BASE,
    store: CORNER,
    stores: [CORNER, { slug: 'outlet', name: 'Outlet <B>', href: '/stores/outlet/settings' }],
    server: {
      baseUrl: 'https://export.shop.example',
      mailFrom: 'mida@shop.example',
      dataDir: '/var/lib/mida',
      trackingId: 'trk_123',
    },
    now: AT,
    smtp: null,
    models,
  }
}

describe('the settings views render from literal models, with no database', () => {
  test('API keys: an active key with its actions, the revoked one counted, names escaped', async () => {
    const out = await html(ApiKeys({ model: MODELS.apiKeys }))
    expect(out).toStartWith('<div id="api-keys"><div class="key-create">')
    expect(out).toContain(
      '<tr id="key-7"><td class="key-name" data-label="Name">Looker &lt;Studio&gt;</td><td data-label="Key"><code>mida_ab12…</code></td><td data-label="Scope">export</td><td data-label="Created"><time datetime="2026-11-25T14:30:00.000Z">2026-11-25 09:30</time></td><td data-label="Last used"><span>never</span></td>',
    )
    expect(out).not.toContain('key-3')
    expect(out).toEndWith(
      '<p class="muted">1 revoked key not shown (<code>mida-export keys list</code> lists all).</p></div>',
    )
  })

  test('API keys: a key just issued, shown once with its cURL, and the API-off warning', async () => {
    const newKey = { key: LOOKER, secret: 'mida_secret' }
    const model = { ...MODELS.apiKeys, apiEnabled: false, newKey }
    const out = await html(ApiKeys({ model }))
    expect(out).toContain('<code id="new-key-value" class="secret">mida_secret</code>')
    expect(out).toContain(
      '<code id="new-key-curl">curl -X POST https://export.shop.example/apiv1/analytics/sync -H &quot;Content-Type: application/json&quot; -H &quot;x-mida-secret-key: mida_secret&quot;</code>',
    )
    expect(out).toContain('<div id="new-key-api-warning" class="new-key-warning" role="alert">')
  })

  test('overview: the checklist, each step ticked from the model', async () => {
    const out = await html(Overview({ model: MODELS.overview }))
    expect(out).toStartWith(
      '<div id="overview" hx-get="/stores/corner/settings/overview" hx-trigger="settings-saved from:body" hx-swap="outerHTML"><div class="checklist">',
    )
    expect(out).toContain('<li class="step step-done" data-step="api" data-done="true">')
    expect(out).toContain('<li class="step step-todo" data-step="key" data-done="false">')
    expect(out).toContain(
      '<small>Emails would go to <span>owner@shop.example</span>, but no SMTP server is configured (<a href="#section-smtp">Email delivery</a>).</small>',
    )
  })

  test('overview: the figures of the last completed period', async () => {
    const day = {
      date: '2026-11-24',
      visitors: 80,
      sessions: 100,
      successful_orders: 3,
      revenue: 2150,
    }
    const out = await html(
      Overview({
        model: {
          kind: 'figures',
          base: BASE,
          frequency: 'daily',
          currency: 'USD',
          periodLabel: '2026-11-24',
          timeZone: NY,
          metrics: {
            total_visitors: 80,
            total_sessions: 100,
            successful_orders: 3,
            total_revenue: 2150,
            conversion_rate: 3,
            average_order_value: 716.67,
          },
          days: [day],
        },
      }),
    )
    expect(out).toContain(
      '<p class="period-label">Last completed period: yesterday, <span>2026-11-24</span> (America/New_York): what the sync API returns now.</p>',
    )
    expect(out).toContain(
      '<div class="figure"><span class="figure-label">Sessions</span><strong class="figure-value">100</strong></div>',
    )
    expect(out).toContain(
      '<strong class="figure-value" title="$2,150.00"><span aria-hidden="true">$2.2K</span><span class="visually-hidden">$2,150.00</span></strong>',
    )
  })

  test('sync log: a failed sync and a collapsed run of refused calls', async () => {
    const out = await html(SyncLog({ model: MODELS.syncLog }))
    expect(out).toContain(
      '<tr data-sync-id="2"><td data-label="Time"><time datetime="2026-11-25T14:30:00.000Z">2026-11-25 09:30</time></td><td data-label="Period"><span>2026-11-24</span></td><td data-label="Frequency">daily</td><td data-label="Trigger">scheduler</td><td data-label="Status"><span class="status status-failed">failed</span><small class="muted"> Store is busy</small></td></tr>',
    )
    expect(out).toContain(
      '<td data-label="Key">no valid key</td><td data-label="Address">203.0.113.9</td><td data-label="Status"><span class="status status-failed">401</span><small class="muted" title="4 times in a row from this address"> ×4</small><small class="muted"> Invalid API key</small></td><td data-label="Duration">0.3 ms</td>',
    )
  })

  test('audit log: an entry in the store time zone, its detail escaped', async () => {
    const out = await html(AuditLog({ model: MODELS.audit }))
    expect(out).toContain(
      '<tr><td data-label="Time"><time datetime="2026-11-25T14:30:00.000Z">2026-11-25 09:30</time></td><td data-label="Who">me@shop.example</td><td data-label="Address"></td><td data-label="What">Settings changed</td><td data-label="Detail">store_name, &lt;timezone&gt;</td></tr>',
    )
    expect(out).toEndWith(
      '<button type="button" class="secondary outline" hx-get="/stores/corner/settings/audit" hx-target="#audit-log" hx-swap="outerHTML">Refresh</button></div>',
    )
  })

  test('outbox: a retried email with its next try and the last answer', async () => {
    const out = await html(Outbox({ model: MODELS.outbox }))
    expect(out).toContain(
      '<tr data-outbox-id="9"><td data-label="Queued"><time datetime="2026-11-25T14:30:00.000Z">2026-11-25 09:30</time></td><td data-label="Subject">Sync failed</td><td data-label="To">–</td><td data-label="Status"><span class="status status-pending">retrying</span><small class="muted"> next try <time datetime="2026-11-25T14:45:00.000Z">2026-11-25 09:45</time></small></td><td data-label="Attempts">2</td><td data-label="Last answer"><small>421 try later</small></td></tr>',
    )
  })

  test('destinations: each with its hint, actions and last deliveries, names escaped', async () => {
    const out = await html(Destinations({ model: MODELS.destinations }))
    expect(out).toContain(
      '<header><strong>Team &lt;Slack&gt;</strong> <small class="muted">slack · https://hooks.slack.com/services/… · added </small>',
    )
    expect(out).toContain('hx-post="/stores/corner/settings/destinations/4/test"')
    expect(out).toContain(
      'hx-confirm="Remove the destination &#34;Team <Slack>&#34;? Its syncs are no longer posted there."',
    )
    expect(out).toContain(
      '<td data-label="Event">sync.succeeded 2026-11-24</td><td data-label="Status"><span class="status status-pending">retrying</span><small class="muted"> next try <time datetime="2026-11-25T14:30:20.000Z">2026-11-25 09:30</time></small></td><td data-label="Attempts">2</td><td data-label="Last answer"><small>HTTP 500</small></td>',
    )
  })

  test("tracking: today's counts, or the placeholder that keeps the page's own counter", async () => {
    expect(await html(TrackingToday({ model: MODELS.trackingToday }))).toBe(
      '<p id="tracking-today" hx-get="/stores/corner/settings/tracking/today" hx-trigger="every 30s" hx-swap="outerHTML" aria-live="polite">Today so far (<span>America/New_York</span>): <strong>1,234</strong> sessions, <strong>5</strong> orders.</p>',
    )
    expect(await html(TrackingToday({ model: null }))).toBe(
      '<p id="tracking-today" hx-preserve></p>',
    )
  })

  test('the whole page, from a hand-built view', async () => {
    const out = await html(SettingsPage({ view: literalView() }))
    expect(out).toContain('<title>Corner Shop · Analytics API Data Export</title>')
    expect(out).toContain(
      '<p>Endpoint: <code>POST https://export.shop.example/apiv1/analytics/sync</code></p>',
    )
    expect(out).toContain(
      '<code id="tracking-snippet">&lt;script defer src=&quot;https://export.shop.example/mida.js&quot; data-store=&quot;trk_123&quot;&gt;&lt;/script&gt;</code>',
    )
    expect(out).toContain('mida-export · data in <code>/var/lib/mida</code>')
    for (const start of [
      '<div id="overview"',
      '<div id="api-keys"',
      '<p id="tracking-today" hx-get',
      '<div id="sync-log"',
      '<div id="audit-log"',
      '<div id="outbox"',
      '<div id="reports"',
    ]) {
      expect(out).toContain(start)
    }
  })

  test('a section whose model was not loaded is an error naming the model, not a blank card', () => {
    const view = literalView({})
    expect(() => modelOf(view, 'audit')).toThrow('The settings view was loaded without "audit"')
    expect(() => SettingsPage({ view })).toThrow('The settings view was loaded without "overview"')
  })
})
