/**
 * The load step of the settings page: builds the plain models its views render, from the
 * database, the config and the clock. The full page and every htmx fragment load through here,
 * naming the models they render, so a fragment shows what the page shows and reads nothing more.
 */
import type {
  ApiKeysModel,
  ModelName,
  SectionModels,
  SettingsView,
} from '../../views/settings/types.ts'
import { recentAudit } from '../domain/audit.ts'
import { countToday } from '../domain/collect.ts'
import { dashboardData, gettingStarted, hasStoreData } from '../domain/dashboard.ts'
import { listApiKeys } from '../domain/keys.ts'
import { smtpTarget } from '../domain/mailer.ts'
import { outboxStatusLabel, recentOutbox } from '../domain/notifications.ts'
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

/** The saved settings as form values; secrets are never sent back to a form. */
function formValues(settings: StoreSettings): Record<string, string | boolean | number> {
  const values: Record<string, string | boolean | number> = {}
  for (const key of SETTING_KEYS) {
    values[key] = SECRET_SETTINGS.has(key) ? '' : settings[key]
  }
  return values
}

export interface LoadOptions {
  /** The models the response renders (`SettingsSection.models`, `PAGE_MODELS`, …). */
  models: readonly ModelName[]
  csrfToken?: string
  /** What this request did to the keys, shown in the API keys fragment. */
  keys?: Pick<ApiKeysModel, 'newKey' | 'revokedKey' | 'keyForm'>
}

type Loader<K extends ModelName> = (
  ctx: AppContext,
  view: SettingsView,
  options: LoadOptions,
) => SectionModels[K] | Promise<SectionModels[K]>

/** One loader per model: the only database reads of the settings page. */
const LOADERS: { [K in ModelName]: Loader<K> } = {
  async overview(ctx, { settings, smtp, now }) {
    if (await hasStoreData(ctx.data, ctx.store)) {
      const data = await dashboardData(
        ctx.data,
        ctx.store,
        Temporal.Instant.fromEpochMilliseconds(now),
      )
      return {
        kind: 'figures',
        frequency: data.frequency,
        currency: data.currency,
        periodLabel: data.period.label,
        timeZone: data.period.timeZone,
        metrics: data.metrics,
        days: data.days,
      }
    }
    const recipient = notificationRecipient(settings)
    const steps = await gettingStarted(ctx.data, ctx.store, {
      ...settings,
      recipient,
      smtpConfigured: smtp !== null,
    })
    return { kind: 'checklist', steps, recipient }
  },
  async apiKeys(ctx, { settings, server }, { keys }) {
    return {
      timeZone: settings.timezone,
      baseUrl: server.baseUrl,
      apiEnabled: settings.api_enabled,
      keys: await listApiKeys(ctx.data, ctx.store),
      ...keys,
    }
  },
  async trackingToday(ctx, { settings, now }) {
    const today = await countToday(
      ctx.data,
      ctx.store,
      settings.timezone,
      Temporal.Instant.fromEpochMilliseconds(now),
    )
    return { timeZone: settings.timezone, ...today }
  },
  async syncLog(ctx, { settings }) {
    return {
      timeZone: settings.timezone,
      records: await recentSyncRecords(ctx.data, ctx.store, 10),
      requests: await recentSyncRequests(ctx.callLog, ctx.store, 10),
    }
  },
  async audit(ctx, { settings }) {
    return { timeZone: settings.timezone, entries: await recentAudit(ctx.data, ctx.store, 50) }
  },
  async outbox(ctx, { settings, smtp }) {
    const configured = smtp !== null
    const rows = (await recentOutbox(ctx.data, ctx.store, 10)).map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      subject: r.subject,
      recipient: r.recipient,
      label: outboxStatusLabel(r, configured),
      attempts: r.attempts,
      nextTryAt: r.status === 'pending' && r.attempts > 0 && configured ? r.nextAttemptAt : null,
      lastAnswer: r.lastError ?? r.smtpResponse,
    }))
    return { timeZone: settings.timezone, rows }
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
  const settings = await readSettings(ctx.data, ctx.store)
  const view: SettingsView = {
    settings,
    state: { values: formValues(settings), errors: {} },
    csrfToken: options.csrfToken ?? '',
    server: {
      baseUrl: ctx.config.baseUrl,
      mailFrom: ctx.config.mailFrom,
      dataDir: ctx.config.dataDir,
      trackingId: ctx.store.trackingId,
    },
    now: ctx.clock.now().epochMilliseconds,
    smtp: smtpTarget(ctx.config, settings),
    models: {},
  }
  for (const name of new Set(options.models)) await loadModel(name, ctx, view, options)
  return view
}
