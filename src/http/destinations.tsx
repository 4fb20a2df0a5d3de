import { Elysia } from 'elysia'
import { Destinations } from '../../views/settings/destinations.tsx'
import { SettingsPage } from '../../views/settings/page.tsx'
import { AFTER_CHANGE_MODELS, AfterChangePartials } from '../../views/settings/partials.tsx'
import { PAGE_MODELS } from '../../views/settings/sections.tsx'
import { type DestinationsModel, type ModelName, modelOf } from '../../views/settings/types.ts'
import { addDestination, removeDestination, testDestination } from '../domain/destinations.ts'
import { AppError } from '../domain/errors.ts'
import { type AdminAuth, adminAuth, storeActor } from './auth.ts'
import type { AppContext } from './context.ts'
import { formField, htmlResponse, isHtmx, redirect } from './html.ts'
import { loadSettingsView } from './settingsModels.ts'
import type { StoreScope } from './storeScope.ts'

type Done = Pick<DestinationsModel, 'added' | 'tested' | 'form'>

/**
 * The settings page's destinations: Add (a webhook's secret shown once), Remove, Send test, the
 * fragment. Mounted under `prefix` as the other settings routes (`/stores/:slug` and '').
 */
export function destinationRoutes(ctx: AppContext, prefix: string) {
  const { data, clock } = ctx
  const options = () => ({ allowPrivate: ctx.config.allowPrivateDestinations })

  /**
   * The fragment for htmx (after a change, with the audit log and the overview as partials),
   * the whole page for a plain form post.
   */
  const answer = async (
    request: Request,
    auth: AdminAuth,
    scope: StoreScope,
    done: Done = {},
    status = 200,
    changed = false,
  ) => {
    const htmx = isHtmx(request)
    const models: ModelName[] = !htmx
      ? PAGE_MODELS
      : changed
        ? ['destinations', ...AFTER_CHANGE_MODELS]
        : ['destinations']
    const v = await loadSettingsView(ctx, {
      scope,
      csrfToken: auth.csrfToken,
      models,
      destinations: done,
    })
    return htmx
      ? htmlResponse(
          <>
            <Destinations model={modelOf(v, 'destinations')} />
            {changed ? <AfterChangePartials view={v} /> : ''}
          </>,
          status,
        )
      : htmlResponse(<SettingsPage view={v} />, status)
  }

  /** A refused action: the fragment with the error under the Add inputs, at its status. */
  const refused = (
    request: Request,
    auth: AdminAuth,
    scope: StoreScope,
    err: unknown,
    typed = { type: 'webhook', url: '', name: '' },
  ) => {
    if (!(err instanceof AppError)) throw err
    return answer(request, auth, scope, { form: { ...typed, error: err.message } }, err.status)
  }

  return new Elysia({ name: 'destinations', seed: prefix, prefix })
    .use(adminAuth(ctx))
    .guard({ store: true })
    .get('/settings/destinations', ({ auth, scope, request }) =>
      isHtmx(request)
        ? answer(request, auth, scope)
        : redirect(`${scope.base}/settings#section-destinations`),
    )
    .post('/settings/destinations', async ({ auth, scope, body, request, server }) => {
      const typed = {
        type: formField(body, 'type') ?? '',
        url: formField(body, 'url') ?? '',
        name: formField(body, 'name') ?? '',
      }
      try {
        const by = storeActor(ctx, auth, scope, request, server)
        const added = await addDestination(data, scope.store, typed, clock, options(), by)
        return await answer(request, auth, scope, { added }, 200, true)
      } catch (err) {
        return refused(request, auth, scope, err, typed)
      }
    })
    .post('/settings/destinations/:id/remove', async ({ auth, scope, params, request, server }) => {
      try {
        const by = storeActor(ctx, auth, scope, request, server)
        await removeDestination(data, scope.store, params.id, clock, by)
        return await answer(request, auth, scope, {}, 200, true)
      } catch (err) {
        return refused(request, auth, scope, err)
      }
    })
    .post('/settings/destinations/:id/test', async ({ auth, scope, params, request }) => {
      try {
        const tested = await testDestination(data, scope.store, params.id, clock, options())
        return await answer(request, auth, scope, { tested })
      } catch (err) {
        return refused(request, auth, scope, err)
      }
    })
}
