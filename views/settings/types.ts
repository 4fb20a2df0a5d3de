import type { AuditEntry } from '../../src/domain/audit.ts'
import type { GettingStarted } from '../../src/domain/dashboard.ts'
import type {
  AddedDestination,
  Delivery,
  Destination,
  TestDelivery,
} from '../../src/domain/destinations.ts'
import type { ApiKey, IssuedKey } from '../../src/domain/keys.ts'
import type { SmtpTarget } from '../../src/domain/mailer.ts'
import type { Metrics } from '../../src/domain/metrics.ts'
import type { Frequency } from '../../src/domain/periods.ts'
import type { SyncRequestView } from '../../src/domain/requestLog.ts'
import type { StoreSettings } from '../../src/domain/settings.ts'
import type { SyncRecordSummary } from '../../src/domain/sync.ts'
import type { FieldState } from '../fields.tsx'

/*
 * The settings page renders view models: plain data built by the loaders in
 * src/http/settingsModels.ts from the database, the config and the clock. Nothing here reads
 * the database; a view shows exactly what it is given.
 */

/** A store as the switcher names it. */
export interface StoreChoice {
  slug: string
  name: string
  /** Its settings page. */
  href: string
}

/** What the page tells about this server (from its config) and store. */
interface ServerFacts {
  /** The public address (MIDA_BASE_URL): the sync endpoint, the tracker tag, the webhook URL. */
  baseUrl: string
  /** The default sender of notification emails. */
  mailFrom: string
  dataDir: string
  /** The store's id in the tracker tag (`data-store`). */
  trackingId: string
}

/** The overview with data: the last completed period's figures and the last 14 days. */
export interface OverviewFigures {
  kind: 'figures'
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  frequency: Frequency
  currency: string
  periodLabel: string
  timeZone: string
  metrics: Pick<
    Metrics,
    | 'total_visitors'
    | 'total_sessions'
    | 'successful_orders'
    | 'total_revenue'
    | 'conversion_rate'
    | 'average_order_value'
  >
  /** The last 14 complete days, oldest first. */
  days: Metrics['daily']
}

/** The overview of a store without data: the getting-started checklist. */
interface OverviewChecklist {
  kind: 'checklist'
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  steps: GettingStarted
  /** Where notifications go (Recipient, else the store email; empty: nowhere). */
  recipient: string
}

export type OverviewModel = OverviewFigures | OverviewChecklist

/** The API keys fragment: the keys and what this request did to them. */
export interface ApiKeysModel {
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  timeZone: string
  baseUrl: string
  apiEnabled: boolean
  /** Every key of the store, revoked ones included (the view hides those not just revoked). */
  keys: ApiKey[]
  /** The view's clock reading (ms): what each key's state, expiry and grace are shown against. */
  now: number
  /** A key issued by this request: shown once. */
  newKey?: IssuedKey
  /** The id of a key revoked by this request: its row stays, marked revoked, so nothing moves. */
  revokedKey?: number
  /** The "Generate API Key" inputs after a refused attempt: what was typed and why it failed. */
  keyForm?: {
    name: string
    scope: string
    error: string
    /** The expiry chosen: '' (never), `30d`, `90d`, `365d` or `date` (then `expiresDate`). */
    expires?: string
    expiresDate?: string
  }
}

/** Today's sessions and orders so far, in the store's time zone. */
export interface TrackingTodayModel {
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  timeZone: string
  sessions: number
  orders: number
}

export interface SyncLogModel {
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  timeZone: string
  records: SyncRecordSummary[]
  requests: SyncRequestView[]
}

export interface AuditModel {
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  timeZone: string
  entries: AuditEntry[]
}

/** One notification email as the outbox shows it. */
interface OutboxRowModel {
  id: number
  createdAt: number
  subject: string
  recipient: string
  /** "sent", "queued", "retrying", "failed" or "not sendable". */
  label: string
  attempts: number
  /** When a failed attempt is retried (a pending row with SMTP configured), else null. */
  nextTryAt: number | null
  /** The SMTP server's last answer or error. */
  lastAnswer: string | null
}

export interface OutboxModel {
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  timeZone: string
  rows: OutboxRowModel[]
}

/** The Reports box: the default range (the report API's) and where the API answers. */
export interface ReportsModel {
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  baseUrl: string
  /** The default range, `YYYY-MM-DD`: the 30 days ending yesterday. */
  from: string
  to: string
  /** The store's today, the latest day a range may end on. */
  today: string
}

/** The destinations fragment: each destination with its last deliveries, and what this request did. */
export interface DestinationsModel {
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  timeZone: string
  destinations: { destination: Destination; deliveries: Delivery[] }[]
  /** A destination added by this request: a webhook's signing secret is shown this once. */
  added?: AddedDestination
  /** What "Send test" did in this request. */
  tested?: TestDelivery
  /** The Add inputs after a refused attempt: what was typed and why it failed. */
  form?: { type: string; url: string; name: string; error: string }
}

/** The parts of the page read from the database, one loader each (src/http/settingsModels.ts). */
export interface SectionModels {
  overview: OverviewModel
  apiKeys: ApiKeysModel
  /** null in a Save answer that keeps the page's own live counter (see TrackingToday). */
  trackingToday: TrackingTodayModel | null
  syncLog: SyncLogModel
  audit: AuditModel
  outbox: OutboxModel
  reports: ReportsModel
  destinations: DestinationsModel
}

export type ModelName = keyof SectionModels

/** Everything a section of the settings page may show. */
export interface SettingsView {
  /** The settings as saved. */
  settings: StoreSettings
  /**
   * What the fields show: the saved settings (secrets blanked), or after a failed Save what was
   * typed, with `errors` naming each bad field (`SettingsError.fields`).
   */
  state: FieldState
  csrfToken: string
  /** Where this store's pages are: '' on the first store's paths (`/settings`), else `/stores/<slug>`. */
  base: string
  /** The store shown, and the stores this admin may switch to (the top bar's switcher). */
  store: StoreChoice
  stores: StoreChoice[]
  server: ServerFacts
  /** The clock's reading when the view was loaded, ms since the epoch. */
  now: number
  /** Where mail goes with the saved settings (MIDA_SMTP_URL or the SMTP fields), or null. */
  smtp: SmtpTarget | null
  /** The models of the sections this response renders (`SettingsSection.models`). */
  models: Partial<SectionModels>
}

/** A section's model; a loader that left it out is a bug, named here rather than rendered blank. */
export function modelOf<K extends ModelName>(view: SettingsView, name: K): SectionModels[K] {
  if (!(name in view.models)) throw new Error(`The settings view was loaded without "${name}"`)
  return view.models[name] as SectionModels[K]
}

/**
 * One section (card) of the settings page. The page wraps it in `<section id="section-{id}">`
 * with an `<h2>` holding `title`. Sections render inside the one settings `<form>`: every input
 * whose name is a setting key (src/domain/settings.ts) is saved by the top bar's Save.
 */
export interface SettingsSection {
  id: string
  title: string
  /** A line under the title. */
  intro?: string
  /**
   * True when the section holds setting fields: after a Save it is rendered again (with the
   * saved values, or the typed values and their errors).
   */
  fields: boolean
  /** The models `render` reads (`modelOf`): loaded whenever the section is rendered. */
  models?: ModelName[]
  render(view: SettingsView): JSX.Element
  /**
   * Forms that must not nest inside the settings form (their own submit, e.g. "Generate API
   * Key"): rendered after it; the section's inputs point at them with `form="…"`.
   */
  forms?(view: SettingsView): JSX.Element
}
