/**
 * The email that warns a store's admin before an API key expires: queued by the scheduler's tick
 * once per key and expiry (the outbox's dedupe), sent by the outbox sender like a sync's email.
 */
import { keysExpiringBetween, toApiKey } from '../db/apiKeys.ts'
import type { Data } from '../db/data.ts'
import { insertOutboxRow, outboxHasDedupe } from '../db/outbox.ts'
import { formatStoreTime } from '../lib/format.ts'
import { type Clock, nowMs } from './clock.ts'
import { type ApiKey, EXPIRY_WARNING_MS, type KeyScope } from './keys.ts'
import { notificationRecipient, type StoreSettings } from './settings.ts'
import type { Store } from './stores.ts'

/** What a key's expiry warning says; stored with the outbox row, rendered when it is sent. */
export interface KeyExpiryPayload {
  store_name: string
  store_slug: string
  key_id: number
  key_name: string
  scope: KeyScope
  /** The key's display prefix (never the key). */
  prefix: string
  /** When the key stops answering, ISO 8601 UTC. */
  expires_at: string
  /** The store's time zone, in which the email gives the instant. */
  timezone: string
}

/** One warning per key and expiry: a key given another expiry is warned about again. */
function keyExpiryDedupe(keyId: number, expiresAt: number): string {
  return `email:key_expiry:${keyId}:${expiresAt}`
}

/** `[Analytics Sync] API key "Looker" expires 2026-12-01 00:00`, in store time. */
export function keyExpirySubject(name: string, expiresAt: number, timeZone: string): string {
  return `[Analytics Sync] API key "${name}" expires ${formatStoreTime(expiresAt, timeZone)}`
}

/**
 * Where a store's key warnings go: its notification recipient, when the store wants
 * notifications at all (success or failure emails on); else null, and nothing is queued (a
 * warning still due once they are switched on is queued at the next tick).
 */
function warningRecipient(settings: StoreSettings): string | null {
  if (!settings.notify_success && !settings.notify_failure) return null
  return notificationRecipient(settings) || null
}

function payloadOf(store: Store, settings: StoreSettings, key: ApiKey): KeyExpiryPayload {
  return {
    store_name: settings.store_name,
    store_slug: store.slug,
    key_id: key.id,
    key_name: key.name,
    scope: key.scope,
    prefix: key.prefix,
    expires_at: new Date(key.expiresAt as number).toISOString(),
    timezone: settings.timezone,
  }
}

/**
 * Queues the expiry warning of every key of the store that is not revoked and expires within
 * EXPIRY_WARNING_MS, unless queued before. A plain read finds them (an idle tick takes no write
 * lock); the rows are written in one transaction whose inserts skip a dedupe already taken, so
 * processes ticking at once queue each warning once. Resolves to the number of rows added.
 */
export async function queueKeyExpiryWarnings(
  data: Data,
  store: Store,
  settings: StoreSettings,
  clock: Clock,
): Promise<number> {
  const recipient = warningRecipient(settings)
  if (recipient === null) return 0
  const now = nowMs(clock)
  const keys = (await keysExpiringBetween(data, store.id, now, now + EXPIRY_WARNING_MS)).map(
    toApiKey,
  )
  const due: ApiKey[] = []
  for (const key of keys) {
    const dedupe = keyExpiryDedupe(key.id, key.expiresAt as number)
    if (!(await outboxHasDedupe(data, store.id, dedupe))) due.push(key)
  }
  if (due.length === 0) return 0
  return data.tx(async (q) => {
    let added = 0
    // Read again inside would only repeat what the inserts' ON CONFLICT decides anyway.
    for (const key of due) {
      const expiresAt = key.expiresAt as number
      added += await insertOutboxRow(q, {
        storeId: store.id,
        kind: 'key_expiry',
        dedupe: keyExpiryDedupe(key.id, expiresAt),
        frequency: null,
        periodStart: null,
        outcome: null,
        periodLabel: null,
        recipient,
        subject: keyExpirySubject(key.name, expiresAt, settings.timezone),
        payload: JSON.stringify(payloadOf(store, settings, key)),
        status: 'pending',
        lastError: null,
        at: now,
      })
    }
    return added
  })
}
