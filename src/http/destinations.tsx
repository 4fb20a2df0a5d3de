import { Elysia } from 'elysia'
import { Destinations } from '../../views/settings/destinations.tsx'
import type { DestinationsModel } from '../../views/settings/types.ts'
import { addDestination, removeDestination, testDestination } from '../domain/destinations.ts'
import { AppError } from '../domain/errors.ts'
import { type AdminAuth, adminAuth, storeActor } from './auth.ts'
import type { AppContext } from './context.ts'
import { formField, isHtmx, redirect } from './html.ts'
import { type ActionSection, sectionAnswer } from './settings.tsx'
import type { StoreScope } from './storeScope.ts'

type Done = Pick<DestinationsModel, 'added' | 'tested' | 'form'>

const DESTINATIONS: ActionSection<'destinations'> = {
  model: 'destinations',
  render: (model) => <Destinations model={model} />,
}

/**
 * The settings page's destinations: Add (a webhook's secret shown once), Remove, Send test, the
 * fragment. Mounted under `prefix` as the other settings routes (`/stores/:slug` and '').
 */
export function destinationRoutes(ctx: AppContext, prefix: string) {
  const { data, clock } = ctx
  const options = () => ({ allowPrivate: ctx.config.allowPrivateDestinations })

  /** The destinations fragment (or the page) after an action: `sectionAnswer`. */
  const answer = (
    request: Request,
    auth: AdminAuth,
    scope: StoreScope,
    done: Done = {},
    status = 200,
    changed = false,
  ) =>
    sectionAnswer(ctx, request, auth, scope, DESTINATIONS, { destinations: done }, status, changed)

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
