import { Elysia } from 'elysia'
import { ApiActivatedNote, ApiKeyState, KeyTestResult } from '../../views/settings/apiKeys.tsx'
import { apiStatusSection } from '../../views/settings/apiStatus.tsx'
import { Overview } from '../../views/settings/dashboard.tsx'
import { SectionBlock } from '../../views/settings/page.tsx'
import { AFTER_CHANGE_MODELS, AfterChangePartials } from '../../views/settings/partials.tsx'
import { NextSync } from '../../views/settings/syncFrequency.tsx'
import { type ModelName, modelOf } from '../../views/settings/types.ts'
import { auditSettingsChange } from '../domain/audit.ts'
import { readSettings, updateSettings } from '../domain/settings.ts'
import { type AdminAuth, adminAuth } from './auth.ts'
import { type AppContext, clientAddress } from './context.ts'
import { formField, htmlResponse, isHtmx, redirect } from './html.ts'
import { loadSettingsView } from './settingsModels.ts'
import type { StoreScope } from './storeScope.ts'
import { SYNC_PATH, type syncHandler } from './sync.ts'

type Server = Parameters<typeof clientAddress>[2]

/**
 * The first-run helpers of the settings page: the overview fragment, "Activate the API now" in
 * the new-key box, and "Test this key", which calls the sync API with the one-time key.
 */
export function onboardingRoutes(
  ctx: AppContext,
  sync: ReturnType<typeof syncHandler>,
  prefix: string,
) {
  const { data, clock } = ctx

  const view = (auth: AdminAuth, scope: StoreScope, models: readonly ModelName[]) =>
    loadSettingsView(ctx, { scope, csrfToken: auth.csrfToken, models })

  return new Elysia({ name: 'onboarding', seed: prefix, prefix })
    .use(adminAuth(ctx))
    .guard({ store: true })
    .get('/settings/overview', async ({ auth, scope, request }) =>
      isHtmx(request)
        ? htmlResponse(
            <Overview model={modelOf(await view(auth, scope, ['overview']), 'overview')} />,
          )
        : redirect(`${scope.base}/settings#section-dashboard`),
    )
    .get('/settings/keys/api-state', async ({ scope, request }) =>
      isHtmx(request)
        ? htmlResponse(
            <ApiKeyState
              base={scope.base}
              apiEnabled={(await readSettings(data, scope.store)).api_enabled}
              reloaded
            />,
          )
        : redirect(`${scope.base}/settings#section-api-keys`),
    )
    .post('/settings/api/activate', async ({ auth, scope, request, server }) => {
      const who = {
        storeId: scope.store.id,
        actor: auth.admin.email,
        address: clientAddress(ctx, request, server as Server),
      }
      await updateSettings(data, scope.store, { api_enabled: 'true' }, clock, async (q, saved) =>
        auditSettingsChange(q, who, saved.before, saved.after, clock),
      )
      if (!isHtmx(request)) return redirect(`${scope.base}/settings#section-api-status`)
      const v = await view(auth, scope, [
        ...(apiStatusSection.models ?? []),
        ...AFTER_CHANGE_MODELS,
      ])
      // The API Status section holds only the switch: replacing it keeps every other unsaved
      // edit of the form. `api-activated` lets the page keep a clean form clean.
      return htmlResponse(
        <>
          <ApiActivatedNote />
          <hx-partial hx-target="#section-api-status" hx-swap="outerHTML">
            <SectionBlock section={apiStatusSection} view={v} />
          </hx-partial>
          <hx-partial hx-target="#next-sync" hx-swap="outerHTML">
            <NextSync settings={v.settings} now={Temporal.Instant.fromEpochMilliseconds(v.now)} />
          </hx-partial>
          <AfterChangePartials view={v} />
        </>,
        200,
        { 'hx-trigger': 'api-activated' },
      )
    })
    .post('/settings/keys/test', async ({ body, request, server }) => {
      // The key names its own store, as in any call: a key of another store answers with that
      // store's figures only to someone who holds that key.
      // The key comes from the one-time box and goes only into this in-process call: it is
      // neither stored nor logged (the call log keeps the key's id, as for any call).
      const key = (formField(body, 'key') ?? '').trim()
      const address = clientAddress(ctx, request, server as Server)
      const call = new Request(new URL(SYNC_PATH, ctx.config.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mida-secret-key': key },
      })
      const answer = await sync(call, { requestIP: () => ({ address }) })
      return htmlResponse(<KeyTestResult status={answer.status} body={await answer.text()} />)
    })
}
