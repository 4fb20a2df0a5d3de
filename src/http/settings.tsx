import { Elysia } from 'elysia'
import { ApiKeys } from '../../views/settings/apiKeys.tsx'
import { AuditLog } from '../../views/settings/audit.tsx'
import {
  SAVE_RESULT_MODELS,
  SaveResult,
  SaveStatus,
  SettingsPage,
} from '../../views/settings/page.tsx'
import { AFTER_CHANGE_MODELS, AfterChangePartials } from '../../views/settings/partials.tsx'
import { PAGE_MODELS } from '../../views/settings/sections.tsx'
import { SyncLog } from '../../views/settings/syncLog.tsx'
import {
  type ApiKeysModel,
  type ModelName,
  modelOf,
  type SectionModels,
} from '../../views/settings/types.ts'
import { auditSettingsChange } from '../domain/audit.ts'
import { nowMs } from '../domain/clock.ts'
import { AppError, InvalidInput } from '../domain/errors.ts'
import {
  createApiKey,
  parseExpiry,
  parseGrace,
  regenerateApiKey,
  revokeApiKey,
} from '../domain/keys.ts'
import { RETYPE_SMTP_PASSWORD, savedPasswordMoves } from '../domain/mailer.ts'
import {
  previewSettings,
  readSettings,
  SECRET_SETTINGS,
  SETTING_KEYS,
  SettingsError,
  updateSettings,
} from '../domain/settings.ts'
import { settingsEdits } from '../domain/settingsForm.ts'
import { type AdminAuth, adminAuth, storeActor } from './auth.ts'
import type { AppContext } from './context.ts'
import { formField, htmlResponse, isHtmx, redirect } from './html.ts'
import { type LoadOptions, loadSettingsView } from './settingsModels.ts'
import type { StoreScope } from './storeScope.ts'

/**
 * The settings a submitted form changes: every field named after a setting. An empty secret
 * field keeps the saved secret (the form never shows it, so empty means "unchanged").
 */
export function settingsChanges(body: unknown): Record<string, string> {
  const changes: Record<string, string> = {}
  for (const key of SETTING_KEYS) {
    const value = formField(body, key)
    if (value === undefined) continue
    if (SECRET_SETTINGS.has(key) && value === '') continue
    changes[key] = value
  }
  return changes
}

/** The hidden `_loaded` field: the values the page was rendered with (see `loadedValues`). */
const LOADED_FIELD = '_loaded'

/**
 * The setting values a submitted page was rendered with (its `_loaded` field, JSON), or nothing
 * for a client that does not send them (every submitted field is then written).
 */
function loadedValues(body: unknown): Record<string, unknown> {
  const raw = formField(body, LOADED_FIELD)
  if (!raw) return {}
  try {
    const parsed: unknown = JSON.parse(raw)
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

/**
 * A store's settings page and its fragments: the page, Save, API keys, the sync log. Mounted
 * under `prefix`: `/stores/:slug` (any store the admin sees) and '' (the first store's
 * `/settings`, the address of the single-store versions).
 */
/** A section with actions of its own (keys, destinations): its model and how it renders. */
export interface ActionSection<K extends ModelName> {
  model: K
  render: (model: SectionModels[K]) => JSX.Element
}

const API_KEYS: ActionSection<'apiKeys'> = {
  model: 'apiKeys',
  render: (model) => <ApiKeys model={model} />,
}

/**
 * What a section's action answers: the section's fragment for htmx (after a change, with the
 * audit log and the overview as partials), the whole page for a plain form post. `done` is what
 * the request did, for the section's loader to show (a key shown once, a refused form).
 */
export async function sectionAnswer<K extends ModelName>(
  ctx: AppContext,
  request: Request,
  auth: AdminAuth,
  scope: StoreScope,
  section: ActionSection<K>,
  done: Pick<LoadOptions, 'keys' | 'destinations'>,
  status = 200,
  changed = false,
): Promise<Response> {
  const htmx = isHtmx(request)
  const models: ModelName[] = !htmx
    ? PAGE_MODELS
    : changed
      ? [section.model, ...AFTER_CHANGE_MODELS]
      : [section.model]
  const v = await loadSettingsView(ctx, { scope, csrfToken: auth.csrfToken, models, ...done })
  return htmx
    ? htmlResponse(
        <>
          {section.render(modelOf(v, section.model))}
          {changed ? <AfterChangePartials view={v} /> : ''}
        </>,
        status,
      )
    : htmlResponse(<SettingsPage view={v} />, status)
}

export function settingsRoutes(ctx: AppContext, prefix: string) {
  const { data, clock } = ctx

  const view = (auth: AdminAuth, scope: StoreScope, models: readonly ModelName[]) =>
    loadSettingsView(ctx, { scope, csrfToken: auth.csrfToken, models })

  /**
   * The view of an htmx Save's answer: its sections with fields. Today's tracking counts depend
   * on the time zone alone, so they are counted again only when a Save changed it; otherwise
   * the answer keeps the page's live counter (see `TrackingToday`).
   */
  const saveAnswerView = async (auth: AdminAuth, scope: StoreScope, zoneChanged: boolean) => {
    const models = SAVE_RESULT_MODELS.filter((m) => zoneChanged || m !== 'trackingToday')
    const v = await view(auth, scope, models)
    if (!zoneChanged) v.models.trackingToday = null
    return v
  }

  /** The keys fragment (or the page) after a key action: `sectionAnswer`. */
  const keysAnswer = (
    request: Request,
    auth: AdminAuth,
    scope: StoreScope,
    keys: Pick<ApiKeysModel, 'newKey' | 'revokedKey' | 'keyForm'> = {},
    status = 200,
    changed = false,
  ) => sectionAnswer(ctx, request, auth, scope, API_KEYS, { keys }, status, changed)

  /**
   * When a key made on the page expires (ms, or null: never): the "Expires" choice, a duration
   * or `date` with the date field's day (its start in the store's time zone), as `parseExpiry`.
   */
  const keyExpiry = async (
    scope: StoreScope,
    expires: string,
    expiresDate: string,
  ): Promise<number | null> => {
    if (expires === '') return null
    const text = expires === 'date' ? expiresDate : expires
    if (text.trim() === '') throw new InvalidInput('expires: choose the date the key expires')
    const { timezone } = await readSettings(data, scope.store)
    return parseExpiry(text, nowMs(clock), timezone)
  }

  /** A change to one key (by id), audited in its transaction; the keys fragment either way. */
  const keyAction = async (
    request: Request,
    auth: AdminAuth,
    scope: StoreScope,
    id: string,
    act: (ref: string) => Promise<Pick<ApiKeysModel, 'newKey' | 'revokedKey'>>,
  ) => {
    try {
      if (!/^\d+$/.test(id)) throw new AppError(404, 'No such key')
      const changed = await act(id)
      return await keysAnswer(request, auth, scope, changed, 200, true)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      return keysAnswer(
        request,
        auth,
        scope,
        { keyForm: { name: '', scope: 'export', error: err.message } },
        // A bad form value (the grace chosen) is a 422, as on Generate.
        err.status === 400 ? 422 : err.status,
      )
    }
  }

  return new Elysia({ name: 'settings', seed: `${prefix}`, prefix })
    .use(adminAuth(ctx))
    .guard({ store: true })
    .get('/settings', async ({ auth, scope, query }) => {
      const v = await view(auth, scope, PAGE_MODELS)
      return htmlResponse(
        <SettingsPage
          view={v}
          saveStatus={query.saved === '1' ? <SaveStatus ok view={v} /> : undefined}
        />,
      )
    })
    .post('/settings', async ({ auth, scope, body, request, server }) => {
      const { store } = scope
      const submitted = settingsChanges(body)
      const before = await readSettings(data, store)
      // Only what the merchant changed is written: a change made elsewhere since the page loaded
      // survives, and one to the same field is shown as a conflict instead of being overwritten.
      const { changes, conflicts } = settingsEdits(before, submitted, loadedValues(body))
      let after = before
      try {
        if (Object.keys(conflicts).length > 0) throw new SettingsError(conflicts)
        if (
          changes.smtp_password === undefined &&
          savedPasswordMoves(before, await previewSettings(data, store, changes, clock))
        ) {
          throw new SettingsError({ smtp_password: RETYPE_SMTP_PASSWORD })
        }
        const who = storeActor(ctx, auth, scope, request, server)
        after = await updateSettings(data, store, changes, clock, async (q, saved) =>
          auditSettingsChange(q, who, saved.before, saved.after, clock),
        )
      } catch (err) {
        if (!(err instanceof SettingsError)) throw err
        const htmx = isHtmx(request)
        const v = htmx
          ? await saveAnswerView(auth, scope, false)
          : await view(auth, scope, PAGE_MODELS)
        // What was typed stays in the fields, each error next to its field; the fields the
        // merchant did not touch show the saved values (changed elsewhere or not).
        const typed = { ...changes }
        for (const key of Object.keys(conflicts)) typed[key] = submitted[key] ?? ''
        v.state = { values: { ...v.state.values, ...typed }, errors: err.fields }
        const status = Object.keys(conflicts).length > 0 ? 409 : 422
        const errorCount = Object.keys(err.fields).length
        if (!htmx) {
          return htmlResponse(
            <SettingsPage
              view={v}
              saveStatus={<SaveStatus ok={false} errorCount={errorCount} view={v} />}
            />,
            status,
          )
        }
        return htmlResponse(<SaveResult view={v} ok={false} />, status)
      }
      if (!isHtmx(request)) return redirect(`${scope.base}/settings?saved=1`)
      const v = await saveAnswerView(auth, scope, after.timezone !== before.timezone)
      return htmlResponse(<SaveResult view={v} ok />, 200, {
        'hx-trigger': 'settings-saved',
      })
    })
    .get('/settings/keys', ({ auth, scope, request }) =>
      isHtmx(request)
        ? keysAnswer(request, auth, scope)
        : redirect(`${scope.base}/settings#section-api-keys`),
    )
    .post('/settings/keys', async ({ auth, scope, body, request, server }) => {
      const name = formField(body, 'name') ?? ''
      const keyScope = formField(body, 'scope') ?? 'export'
      const expires = formField(body, 'expires') ?? ''
      const expiresDate = formField(body, 'expires_date') ?? ''
      try {
        const expiresAt = await keyExpiry(scope, expires, expiresDate)
        const by = storeActor(ctx, auth, scope, request, server)
        const newKey = await createApiKey(data, scope.store, name, keyScope, clock, by, {
          expiresAt,
        })
        return await keysAnswer(request, auth, scope, { newKey }, 200, true)
      } catch (err) {
        if (!(err instanceof AppError)) throw err
        const status = err.status === 409 ? 409 : 422
        const keyForm = { name, scope: keyScope, expires, expiresDate, error: err.message }
        return keysAnswer(request, auth, scope, { keyForm }, status)
      }
    })
    .post('/settings/keys/:id/regenerate', ({ auth, scope, params, body, request, server }) =>
      keyAction(request, auth, scope, params.id, async (ref) => ({
        newKey: await regenerateApiKey(
          data,
          scope.store,
          ref,
          clock,
          storeActor(ctx, auth, scope, request, server),
          { graceMs: parseGrace(formField(body, 'grace') || '0') },
        ),
      })),
    )
    .post('/settings/keys/:id/revoke', ({ auth, scope, params, request, server }) =>
      keyAction(request, auth, scope, params.id, async (ref) => ({
        revokedKey: (
          await revokeApiKey(
            data,
            scope.store,
            ref,
            clock,
            storeActor(ctx, auth, scope, request, server),
          )
        ).id,
      })),
    )
    .get('/settings/sync-log', async ({ auth, scope, request }) =>
      isHtmx(request)
        ? htmlResponse(<SyncLog model={modelOf(await view(auth, scope, ['syncLog']), 'syncLog')} />)
        : redirect(`${scope.base}/settings#section-sync-log`),
    )
    .get('/settings/audit', async ({ auth, scope, request }) =>
      isHtmx(request)
        ? htmlResponse(<AuditLog model={modelOf(await view(auth, scope, ['audit']), 'audit')} />)
        : redirect(`${scope.base}/settings#section-audit`),
    )
}
