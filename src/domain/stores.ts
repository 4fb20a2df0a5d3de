import type { Data } from '../db/data.ts'
import {
  adminStoreIds,
  allStores,
  deleteStoreRow,
  insertStore,
  storeById,
  storeBySlug,
  storeByTrackingId,
} from '../db/stores.ts'
import { randomBase62 } from '../lib/random.ts'
import type { Admin } from './admins.ts'
import { type AuditActor, recordAudit } from './audit.ts'
import { type Clock, nowMs } from './clock.ts'
import { Conflict, InvalidInput, NotFound } from './errors.ts'
import { localTimeZone, saveSettingsWith } from './settings.ts'

/** A shop whose data this server keeps: its slug names it in URLs and on the command line. */
export interface Store {
  id: number
  slug: string
  trackingId: string
}

/** The slug a fresh install's store gets, and an existing installation's first store. */
const DEFAULT_SLUG = 'default'

/** Lowercase letters, digits and single hyphens, 1 to 40 characters: safe in any URL. */
const SLUG = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,39}$/

/** Why a slug cannot name a store, or null. */
function slugProblem(slug: string): string | null {
  if (SLUG.test(slug)) return null
  return `Store slug "${slug.slice(0, 60)}" is not valid: use 1 to 40 lowercase letters, digits and single hyphens (for example "outlet" or "acme-shoes")`
}

function newTrackingId(): string {
  return `MIDA-${randomBase62(12)}`
}

/**
 * The first store, creating the `default` one on a fresh install. (Nodes starting together on
 * one PostgreSQL database create it once: the slug is unique.)
 */
export async function ensureDefaultStore(data: Data, clock: Clock): Promise<Store> {
  const first = (await allStores(data))[0]
  if (first) return first
  await insertStore(data, DEFAULT_SLUG, newTrackingId(), nowMs(clock))
  // The list of stores (remembered) has one more: this connection's own write moves no signal.
  data.cache.invalidate()
  const store = await storeBySlug(data, DEFAULT_SLUG)
  if (!store) throw new Error('The default store could not be created')
  return store
}

/**
 * Every store, oldest first; remembered until the stores change (the tracker's preflight and the
 * webhook path without a tracking id ask on every request). Not to be changed by the caller.
 */
export function listStores(data: Data): Promise<readonly Store[]> {
  return data.cache.load('stores', () => allStores(data))
}

const byIdKey = (id: number) => `store-by-id:${id}`

/** The store with this id (an API key's), or null; remembered until the stores change. */
export function findStoreById(data: Data, id: number): Promise<Store | null> {
  return data.cache.load(byIdKey(id), () => storeById(data, id))
}

/** `findStoreById`'s answer when this turn already has it (the sync API's same-turn path). */
export function cachedStoreById(data: Data, id: number): Store | null | undefined {
  return data.cache.peek<Store | null>(byIdKey(id))
}

/** What a tracking id can be: printable ASCII (ours are `MIDA-` and 12 letters or digits). */
const TRACKING_ID = /^[\x21-\x7e]{1,100}$/

/**
 * Finds the store that owns a tracking id (the tracker's `data-store`, a webhook's path), or
 * null; text no tracking id can be (a NUL byte, which PostgreSQL refuses in text) is not looked up.
 */
export function findStoreByTrackingId(data: Data, trackingId: string): Promise<Store | null> {
  if (!TRACKING_ID.test(trackingId)) return Promise.resolve(null)
  return data.cache.load(`store-by-tracking-id:${trackingId}`, () =>
    storeByTrackingId(data, trackingId),
  )
}

/** The stores an admin sees, oldest first: every store, or those the admin was limited to. */
export async function storesOfAdmin(data: Data, admin: Admin): Promise<readonly Store[]> {
  const stores = await listStores(data)
  if (admin.allStores) return stores
  const allowed = new Set(await adminStoreIds(data, admin.id))
  return stores.filter((s) => allowed.has(s.id))
}

/** What a new store starts with besides its slug (each optional; the same checks as a Save). */
export interface NewStore {
  slug: string
  name?: string
  timezone?: string
  currency?: string
}

/**
 * Creates a store with its tracking id and first settings, in one transaction with its audit
 * entry; a taken slug is a Conflict, a bad slug or setting an InvalidInput naming it.
 */
export async function createStore(
  data: Data,
  input: NewStore,
  clock: Clock,
  by: Omit<AuditActor, 'storeId'>,
): Promise<Store> {
  const problem = slugProblem(input.slug)
  if (problem) throw new InvalidInput(problem)
  const settings: Record<string, string> = {}
  if (input.name !== undefined) settings.store_name = input.name
  // Without one, the server's time zone, as the first store gets.
  settings.timezone = input.timezone ?? localTimeZone()
  if (input.currency !== undefined) settings.currency = input.currency
  const store = await data.tx(async (q) => {
    const trackingId = newTrackingId()
    const id = await insertStore(q, input.slug, trackingId, nowMs(clock))
    if (id === null) throw new Conflict(`A store with the slug "${input.slug}" exists already`)
    const store: Store = { id, slug: input.slug, trackingId }
    await saveSettingsWith(q, data.secrets, store, settings, clock)
    await recordAudit(
      q,
      { ...by, storeId: null, action: 'store.created', detail: store.slug },
      clock,
    )
    return store
  })
  data.cache.invalidate()
  return store
}

/**
 * Deletes a store and every row of its own (sessions, orders, keys, settings, syncs, outbox,
 * audit entries…) in one transaction; the last store cannot go (a server keeps one).
 */
export async function deleteStore(
  data: Data,
  slug: string,
  clock: Clock,
  by: Omit<AuditActor, 'storeId'>,
): Promise<Store> {
  const store = await data.tx(async (q) => {
    const store = await storeBySlug(q, slug)
    if (!store) throw new NotFound(`No store "${slug}"`)
    if ((await allStores(q)).length === 1) {
      throw new Conflict(`"${slug}" is the only store: a server keeps at least one`)
    }
    await deleteStoreRow(q, store.id)
    await recordAudit(q, { ...by, storeId: null, action: 'store.deleted', detail: slug }, clock)
    return store
  })
  data.cache.invalidate()
  return store
}
