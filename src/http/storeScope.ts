import type { StoreChoice } from '../../views/settings/types.ts'
import type { Admin } from '../domain/admins.ts'
import { NotFound } from '../domain/errors.ts'
import { readSettings } from '../domain/settings.ts'
import { type Store, storesOfAdmin } from '../domain/stores.ts'
import type { AppContext } from './context.ts'

/** The store an admin's request acts on, and what the admin may see besides. */
export interface StoreScope {
  store: Store
  /**
   * Where the store's pages are: `/stores/<slug>`, or '' on the paths without a slug
   * (`/settings`, the first store the admin sees), so a page's links stay on the paths it came by.
   */
  base: string
  /** The stores this admin sees, oldest first, for the switcher. */
  stores: readonly Store[]
  /** An admin of every store: sees the server-wide entries (logins, admins, stores) too. */
  allStores: boolean
}

/** The address of a store's settings page. */
export function settingsHref(store: Store): string {
  return `/stores/${store.slug}/settings`
}

/**
 * The scope of a request: the store `slug` names (or, without one, the admin's first store),
 * if this admin may see it. Otherwise NotFound, the same answer as for a store that does not
 * exist: a limited admin learns nothing of the other stores, not even their slugs.
 */
export async function storeScope(
  ctx: AppContext,
  admin: Admin,
  slug: string | undefined,
): Promise<StoreScope> {
  const stores = await storesOfAdmin(ctx.data, admin)
  const store = slug === undefined ? stores[0] : stores.find((s) => s.slug === slug)
  if (!store) {
    throw new NotFound(
      slug === undefined
        ? 'No store to show: ask an admin of every store for access'
        : 'No such store',
    )
  }
  return {
    store,
    base: slug === undefined ? '' : `/stores/${slug}`,
    stores,
    allStores: admin.allStores,
  }
}

/** The switcher's entries: each store the admin sees, by name. */
export async function storeChoices(ctx: AppContext, scope: StoreScope): Promise<StoreChoice[]> {
  return Promise.all(
    scope.stores.map(async (s) => ({
      slug: s.slug,
      name: (await readSettings(ctx.data, s)).store_name || s.slug,
      href: settingsHref(s),
    })),
  )
}
