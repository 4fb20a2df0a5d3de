import {
  activeKeyByName,
  activeKeyNameTaken,
  insertKey,
  type KeyRow,
  keyByHash,
  keyById,
  keysOfStore,
  revokeKey,
  toApiKey,
  touchKey,
} from '../db/apiKeys.ts'
import type { Data, Queries } from '../db/data.ts'
import { randomBase62, toBase62 } from '../lib/random.ts'
import { type AuditActor, describeKey, recordAudit } from './audit.ts'
import { type Clock, nowMs } from './clock.ts'
import { Conflict, InvalidInput, NotFound } from './errors.ts'
import type { Store } from './stores.ts'

export type KeyScope = 'export' | 'ingest'
const KEY_SCOPES: readonly KeyScope[] = ['export', 'ingest']

const KEY_PREFIX = 'mida_sk_'
const SECRET_LENGTH = 32 // 62^32 ≈ 2^190
const CHECKSUM_LENGTH = 6
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}}$`)
/** How much of the key is kept in clear for display: the prefix and 4 characters. */
const DISPLAY_LENGTH = KEY_PREFIX.length + 4
/** Writing last_used_at on every request would turn reads into writes; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000

/** An API key as stored: never the secret itself. */
export interface ApiKey {
  id: number
  storeId: number
  name: string
  scope: KeyScope
  prefix: string
  createdAt: number
  lastUsedAt: number | null
  revokedAt: number | null
}

/** A key just issued: the only moment its secret exists outside the client. */
export interface IssuedKey {
  key: ApiKey
  secret: string
}

function checksum(body: string): string {
  return toBase62(Bun.hash.crc32(body), CHECKSUM_LENGTH)
}

/** A new random key: `mida_sk_`, 32 base62 characters, and a 6-character CRC32 checksum. */
export function generateApiKey(): string {
  const body = KEY_PREFIX + randomBase62(SECRET_LENGTH)
  return body + checksum(body)
}

/** True when the text has the key format and its checksum matches (typos fail without a lookup). */
export function isWellFormedApiKey(text: string): boolean {
  if (!KEY_PATTERN.test(text)) return false
  const body = text.slice(0, -CHECKSUM_LENGTH)
  return checksum(body) === text.slice(-CHECKSUM_LENGTH)
}

/** The SHA-256 of a key, hex: what is stored and looked up. */
export function hashApiKey(secret: string): string {
  return Bun.CryptoHasher.hash('sha256', secret, 'hex') as string
}

function validName(name: string): string {
  const trimmed = name.trim()
  if (!trimmed) throw new InvalidInput('name must not be empty')
  if (trimmed.length > 100) throw new InvalidInput('name must be at most 100 characters')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new InvalidInput('name must not contain control characters')
  }
  if (/^\d+$/.test(trimmed)) throw new InvalidInput('name must not be only digits (ids are)')
  return trimmed
}

function validScope(scope: string): KeyScope {
  if (!KEY_SCOPES.includes(scope as KeyScope)) {
    throw new InvalidInput(`scope must be export or ingest, got ${JSON.stringify(scope)}`)
  }
  return scope as KeyScope
}

/** Issues a key with a fresh secret. */
async function issueKey(
  q: Queries,
  store: Store,
  name: string,
  scope: KeyScope,
  at: number,
): Promise<IssuedKey> {
  const secret = generateApiKey()
  const row = await insertKey(q, {
    storeId: store.id,
    name,
    scope,
    prefix: secret.slice(0, DISPLAY_LENGTH),
    keyHash: hashApiKey(secret),
    createdAt: at,
  })
  return { key: toApiKey(row), secret }
}

/**
 * Issues a named key of a scope. Names are unique among a store's active keys. With `by`, the
 * audit entry is written in the same transaction (as for every key action below).
 */
export async function createApiKey(
  data: Data,
  store: Store,
  name: string,
  scope: string,
  clock: Clock,
  by?: AuditActor,
): Promise<IssuedKey> {
  const cleanName = validName(name)
  const cleanScope = validScope(scope)
  return data.tx(async (q) => {
    if (await activeKeyNameTaken(q, store.id, cleanName)) {
      throw new Conflict(`An active key named "${cleanName}" already exists`)
    }
    const issued = await issueKey(q, store, cleanName, cleanScope, nowMs(clock))
    if (by) {
      const detail = describeKey(issued.key)
      await recordAudit(q, { ...by, action: 'key.created', detail }, clock)
    }
    return issued
  })
}

/** All keys of a store, newest first, revoked ones included. */
export async function listApiKeys(data: Data, store: Store): Promise<ApiKey[]> {
  return (await keysOfStore(data, store.id)).map(toApiKey)
}

/** Finds a key by numeric id, or by the name of an active key. */
export async function findApiKey(q: Queries, store: Store, idOrName: string): Promise<ApiKey> {
  const ref = idOrName.trim()
  const row = /^\d+$/.test(ref)
    ? await keyById(q, store.id, Number(ref))
    : await activeKeyByName(q, store.id, ref)
  if (!row) throw new NotFound(`No key with id or active name ${JSON.stringify(ref)}`)
  return toApiKey(row)
}

/** Revokes a key; revoking an already revoked key is an error that says so. */
export async function revokeApiKey(
  data: Data,
  store: Store,
  idOrName: string,
  clock: Clock,
  by?: AuditActor,
): Promise<ApiKey> {
  return data.tx(async (q) => {
    const key = await findApiKey(q, store, idOrName)
    if (key.revokedAt !== null) throw new Conflict(`Key ${key.id} (${key.name}) is already revoked`)
    const revoked = toApiKey(await revokeKey(q, key.id, nowMs(clock)))
    if (by) await recordAudit(q, { ...by, action: 'key.revoked', detail: describeKey(key) }, clock)
    // Before the commit: no call may be let in by the cached key once the revocation is visible.
    data.cache.invalidate()
    return revoked
  })
}

/** Revokes a key and issues a new one with the same name and scope, in one transaction. */
export async function regenerateApiKey(
  data: Data,
  store: Store,
  idOrName: string,
  clock: Clock,
  by?: AuditActor,
): Promise<IssuedKey> {
  return data.tx(async (q) => {
    const old = await findApiKey(q, store, idOrName)
    if (old.revokedAt !== null) {
      throw new Conflict(`Key ${old.id} (${old.name}) is revoked; create a new key instead`)
    }
    const at = nowMs(clock)
    await revokeKey(q, old.id, at)
    const issued = await issueKey(q, store, old.name, old.scope, at)
    if (by) {
      const detail = `${describeKey(old)} → ${issued.key.prefix}…`
      await recordAudit(q, { ...by, action: 'key.regenerated', detail }, clock)
    }
    data.cache.invalidate()
    return issued
  })
}

/**
 * The active key of the given scope that this secret belongs to, or null. Records the use.
 * A malformed secret is rejected before any lookup; a key found before is answered from the
 * read cache without a query.
 */
export async function authenticateApiKey(
  data: Data,
  secret: string,
  scope: KeyScope,
  clock: Clock,
): Promise<ApiKey | null> {
  if (!KEY_PATTERN.test(secret)) return null
  const hash = hashApiKey(secret)
  const cacheKey = `key:${hash}`
  // A key found before is well formed; any other is checked before the lookup (typos need none).
  const row =
    data.cache.peek<KeyRow>(cacheKey) ??
    (isWellFormedApiKey(secret)
      ? await data.cache.load(cacheKey, () => keyByHash(data, hash))
      : null)
  if (!row || row.revoked_at !== null || row.scope !== scope) return null
  const at = nowMs(clock)
  if (row.last_used_at === null || at - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
    // Noted before the write, so the calls that arrive while it waits do not write it again.
    row.last_used_at = at
    await touchKey(data, row.id, at)
  }
  return toApiKey(row)
}
