import { Elysia } from 'elysia'
import { type StoreRowModel, StoresPage, type StoresPageModel } from '../../views/stores.tsx'
import { storeSummary } from '../domain/dashboard.ts'
import { AppError, Forbidden } from '../domain/errors.ts'
import { createStore, storesOfAdmin } from '../domain/stores.ts'
import { Slots } from '../lib/slots.ts'
import { type AdminAuth, adminAuth } from './auth.ts'
import { type AppContext, clientAddress } from './context.ts'
import { formField, htmlResponse, redirect } from './html.ts'
import { settingsHref, storeScope } from './storeScope.ts'

/** Where each store's settings page and fragments are mounted (`settingsRoutes` and the rest). */
export const STORE_PREFIX = '/stores/:slug'

/** Stores whose figures are read at once for /stores: under half of PostgreSQL's pool of 10. */
const SUMMARIES_AT_ONCE = 4

/** The fields of "Add store". */
const NEW_STORE_FIELDS = ['slug', 'name', 'timezone', 'currency'] as const

/**
 * `/stores`: every store the admin sees, with its last completed period's headline figures and
 * their trend, the totals (revenue per currency), and "Add store" for an admin of every store.
 * `/stores/<slug>` leads to that store's settings page.
 */
export function storesRoutes(ctx: AppContext) {
  const page = async (
    auth: AdminAuth,
    form?: StoresPageModel['form'],
    status = 200,
  ): Promise<Response> => {
    const stores = await storesOfAdmin(ctx.data, auth.admin)
    const now = ctx.clock.now()
    // Several stores at once: on PostgreSQL each takes a connection of the pool, so the page
    // waits for the slowest few rather than for all of them in turn (SQLite runs them in turn).
    const slots = new Slots(SUMMARIES_AT_ONCE)
    const rows: StoreRowModel[] = await Promise.all(
      stores.map((store) =>
        slots.run(async () => ({
          slug: store.slug,
          href: settingsHref(store),
          ...(await storeSummary(ctx.data, store, now)),
        })),
      ),
    )
    const model = { csrfToken: auth.csrfToken, rows, canAdd: auth.admin.allStores, form }
    return htmlResponse(<StoresPage model={model} />, status)
  }

  return new Elysia({ name: 'stores', seed: ctx })
    .use(adminAuth(ctx))
    .get('/stores', ({ auth }) => page(auth), { admin: true })
    .post(
      '/stores',
      async ({ auth, body, request, server }) => {
        // A limited admin adds nothing: a new store would be one more they could not see.
        if (!auth.admin.allStores) throw new Forbidden('Only an admin of every store can add one')
        const values: Record<string, string> = {}
        for (const field of NEW_STORE_FIELDS) values[field] = (formField(body, field) ?? '').trim()
        try {
          const store = await createStore(
            ctx.data,
            {
              slug: values.slug ?? '',
              name: values.name || undefined,
              timezone: values.timezone || undefined,
              currency: values.currency ? values.currency.toUpperCase() : undefined,
            },
            ctx.clock,
            { actor: auth.admin.email, address: clientAddress(ctx, request, server) },
          )
          ctx.openSessions.clear()
          return redirect(settingsHref(store))
        } catch (err) {
          if (!(err instanceof AppError)) throw err
          return page(auth, { values, error: err.message }, err.status === 409 ? 409 : 422)
        }
      },
      { admin: true },
    )
    .get(
      '/stores/:slug',
      async ({ auth, params }) => {
        const { store } = await storeScope(ctx, auth.admin, params.slug)
        return redirect(settingsHref(store))
      },
      { admin: true },
    )
}
