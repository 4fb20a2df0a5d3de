import { CLI_ACTOR } from '../domain/audit.ts'
import { readSettings } from '../domain/settings.ts'
import { createStore, deleteStore, listStores, type Store } from '../domain/stores.ts'
import { type OptionSpec, type Parsed, str } from './args.ts'
import { RefusedError, UsageError } from './io.ts'
import { print, type Runtime, table } from './runtime.ts'

export const STORES_HELP = `Usage: mida-export stores <list|create|delete> [options]

  stores list                                   the stores: slug, name, time zone, currency, tracking id
  stores create SLUG [--name N] [--timezone TZ] [--currency C]
                                                a new store with its own settings, keys and data
  stores delete SLUG --yes                      delete a store and all its data, in one transaction

A slug is 1 to 40 lowercase letters, digits and single hyphens; it names the store in URLs
(/stores/SLUG/settings) and in --store SLUG. The last store cannot be deleted.

Options: --json (one JSON document on stdout), --data-dir DIR`

export const STORES_OPTIONS: Record<string, OptionSpec> = {
  name: { type: 'string' },
  timezone: { type: 'string' },
  currency: { type: 'string' },
  yes: { type: 'boolean' },
}

/** A store as `stores list --json` prints it. */
async function storeJson(rt: Runtime, store: Store) {
  const settings = await readSettings(rt.data, store)
  return {
    id: store.id,
    slug: store.slug,
    name: settings.store_name,
    timezone: settings.timezone,
    currency: settings.currency,
    tracking_id: store.trackingId,
    api_enabled: settings.api_enabled,
    sync_frequency: settings.sync_frequency,
  }
}

/** `stores list|create|delete`. */
export async function runStores(rt: Runtime, p: Parsed): Promise<number> {
  const [action, slug, ...extra] = p.positionals
  if (extra.length > 0) throw new UsageError(`Unexpected argument: ${extra[0]}`)
  const by = { actor: CLI_ACTOR, address: null }
  switch (action) {
    case 'list': {
      const stores = await Promise.all((await listStores(rt.data)).map((s) => storeJson(rt, s)))
      print(rt, stores, () =>
        table(
          ['SLUG', 'NAME', 'TIME ZONE', 'CURRENCY', 'TRACKING ID'],
          stores.map((s) => [s.slug, s.name || '-', s.timezone, s.currency, s.tracking_id]),
        ),
      )
      return 0
    }
    case 'create': {
      if (!slug) throw new UsageError('stores create needs a SLUG')
      const store = await createStore(
        rt.data,
        { slug, name: str(p, 'name'), timezone: str(p, 'timezone'), currency: str(p, 'currency') },
        rt.clock,
        by,
      )
      const shown = await storeJson(rt, store)
      print(rt, shown, () =>
        [
          `Created store "${store.slug}" (${shown.timezone}, ${shown.currency}).`,
          `  settings page:  ${rt.config.baseUrl}/stores/${store.slug}/settings`,
          `  tracker:        <script defer src="${rt.config.baseUrl}/mida.js" data-store="${store.trackingId}"></script>`,
          `  Shopify webhook: ${rt.config.baseUrl}/apiv1/webhooks/shopify/orders/${store.trackingId}`,
          `  API key:        mida-export keys create --store ${store.slug} --name NAME`,
        ].join('\n'),
      )
      return 0
    }
    case 'delete': {
      if (!slug) throw new UsageError('stores delete needs a SLUG')
      if (p.values.yes !== true) {
        throw new RefusedError(
          `Deleting "${slug}" removes all its sessions, orders, keys, settings and syncs for good: add --yes to go ahead`,
        )
      }
      const store = await deleteStore(rt.data, slug, rt.clock, by)
      print(
        rt,
        { deleted: store.slug, id: store.id },
        () => `Deleted store "${store.slug}" and all its data.`,
      )
      return 0
    }
    default:
      throw new UsageError(
        action
          ? `Unknown stores command: ${action}`
          : 'stores needs a command: list, create or delete',
      )
  }
}
