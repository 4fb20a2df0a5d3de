/**
 * The load step of the settings page: builds the plain models its views render, from the
 * database, the config and the clock. The full page and every htmx fragment load through here,
 * naming the models they render, so a fragment shows what the page shows and reads nothing more.
 */
import type {
  ApiKeysModel,
  DestinationsModel,
  ModelName,
  SectionModels,
  SettingsView,
  StoreChoice,
} from '../../views/settings/types.ts'
import { recentAudit } from '../domain/audit.ts'
import { countToday } from '../domain/collect.ts'
import { dashboardData, gettingStarted, hasStoreData } from '../domain/dashboard.ts'
import { listDestinations, recentDeliveries } from '../domain/destinations.ts'
import { listApiKeys } from '../domain/keys.ts'
import { smtpTarget } from '../domain/mailer.ts'
import { outboxStatusLabel, recentOutbox } from '../domain/notifications.ts'
import { storeDate } from '../domain/periods.ts'
import { reportPeriod } from '../domain/report.ts'
import { recentSyncRequests } from '../domain/requestLog.ts'
import {
  notificationRecipient,
  readSettings,
  SECRET_SETTINGS,
  SETTING_KEYS,
  type StoreSettings,
} from '../domain/settings.ts'
import { recentSyncRecords } from '../domain/sync.ts'
import type { AppContext } from './context.ts'
import { type StoreScope, storeChoices } from './storeScope.ts'

/** The saved settings as form values; secrets are never sent back to a form. */
function formValues(settings: StoreSettings): Record<string, string | boolean | number> {
  const values: Record<string, string | boolean | number> = {}
  for (const key of SETTING_KEYS) {
    values[key] = SECRET_SETTINGS.has(key) ? '' : settings[key]
  }
  return values
}

export interface LoadOptions {
  /** The store shown, to this admin (`storeScope`). */
  scope: StoreScope
  /** The models the response renders (`SettingsSection.models`, `PAGE_MODELS`, …). */
  models: readonly ModelName[]
  csrfToken?: string
  /** What this request did to the keys, shown in the API keys fragment. */
  keys?: Pick<ApiKeysModel, 'newKey' | 'revokedKey' | 'keyForm'>
  /** What this request did to the destinations, shown in their fragment. */
  destinations?: Pick<DestinationsModel, 'added' | 'tested' | 'form'>
}

type Loader<K extends ModelName> = (
  ctx: AppContext,
  view: SettingsView,
  options: LoadOptions,
) => SectionModels[K] | Promise<SectionModels[K]>

/** One loader per model: the only database reads of the settings page. */
const LOADERS: { [K in ModelName]: Loader<K> } = {
  async overview(ctx, { settings, smtp, now, base }, { scope: { store } }) {
    if (await hasStoreData(ctx.data, store)) {
      const data = await dashboardData(ctx.data, store, Temporal.Instant.fromEpochMilliseconds(now))
      return {
        kind: 'figures',
        base,
        frequency: data.frequency,
        currency: data.currency,
        periodLabel: data.period.label,
        timeZone: data.period.timeZone,
        metrics: data.metrics,
        days: data.days,
      }
    }
    const recipient = notificationRecipient(settings)
    const steps = await gettingStarted(
      ctx.data,
      store,
      { ...settings, recipient, smtpConfigured: smtp !== null },
      now,
    )
    return { kind: 'checklist', base, steps, recipient }
  },
  async apiKeys(ctx, { settings, server, base, now }, { keys, scope: { store } }) {
    return {
      base,
      timeZone: settings.timezone,
      baseUrl: server.baseUrl,
      apiEnabled: settings.api_enabled,
      keys: await listApiKeys(ctx.data, store),
      now,
      ...keys,
    }
  },
  async trackingToday(ctx, { settings, now, base }, { scope: { store } }) {
    const today = await countToday(
      ctx.data,
      store,
      settings.timezone,
      Temporal.Instant.fromEpochMilliseconds(now),
    )
    return { base, timeZone: settings.timezone, ...today }
  },
  async syncLog(ctx, { settings, base }, { scope: { store, allStores } }) {
    return {
      base,
      timeZone: settings.timezone,
      records: await recentSyncRecords(ctx.data, store, 10),
      requests: await recentSyncRequests(ctx.callLog, store, 10, allStores),
    }
  },
  async audit(ctx, { settings, base }, { scope: { store, allStores } }) {
    const entries = await recentAudit(ctx.data, store, 50, allStores)
    return { base, timeZone: settings.timezone, entries }
  },
  async outbox(ctx, { settings, smtp, base }, { scope: { store } }) {
    const configured = smtp !== null
    const rows = (await recentOutbox(ctx.data, store, 10)).map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      subject: r.subject,
      recipient: r.recipient,
      label: outboxStatusLabel(r, configured),
      attempts: r.attempts,
      nextTryAt: r.status === 'pending' && r.attempts > 0 && configured ? r.nextAttemptAt : null,
      lastAnswer: r.lastError ?? r.smtpResponse,
    }))
    return { base, timeZone: settings.timezone, rows }
  },
  reports(_ctx, { settings, server, now, base }) {
    const at = Temporal.Instant.fromEpochMilliseconds(now)
    const range = reportPeriod({}, settings.timezone, at)
    return {
      base,
      baseUrl: server.baseUrl,
      from: range.days[0]!.toString(),
      to: range.days.at(-1)!.toString(),
      today: storeDate(at, settings.timezone).toString(),
    }
  },
  async destinations(ctx, { settings, base }, { destinations, scope: { store } }) {
    const list = await listDestinations(ctx.data, store)
    return {
      base,
      timeZone: settings.timezone,
      destinations: await Promise.all(
        list.map(async (destination) => ({
          destination,
          deliveries: await recentDeliveries(ctx.data, store, destination.id, 5),
        })),
      ),
      ...destinations,
    }
  },
}

async function loadModel<K extends ModelName>(
  name: K,
  ctx: AppContext,
  view: SettingsView,
  options: LoadOptions,
): Promise<void> {
  view.models[name] = await LOADERS[name](ctx, view, options)
}

/**
 * A settings view: the saved settings, the server's facts, one clock reading, and the models
 * named in `options.models`, each read once.
 */
export async function loadSettingsView(
  ctx: AppContext,
  options: LoadOptions,
): Promise<SettingsView> {
  const { store } = options.scope
  const settings = await readSettings(ctx.data, store)
  const stores = await storeChoices(ctx, options.scope)
  const view: SettingsView = {
    settings,
    state: { values: formValues(settings), errors: {} },
    csrfToken: options.csrfToken ?? '',
    base: options.scope.base,
    store: stores.find((s) => s.slug === store.slug) as StoreChoice,
    stores,
    server: {
      baseUrl: ctx.config.baseUrl,
      mailFrom: ctx.config.mailFrom,
      dataDir: ctx.config.dataDir,
      trackingId: store.trackingId,
    },
    now: ctx.clock.now().epochMilliseconds,
    smtp: smtpTarget(ctx.config, settings),
    models: {},
  }
  for (const name of new Set(options.models)) await loadModel(name, ctx, view, options)
  return view
}
