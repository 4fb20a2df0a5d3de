import {
  activeKeyByName,
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

/** `export`: the sync and report APIs; `ingest`: imports; `report`: reports only (read-only). */
export type KeyScope = 'export' | 'ingest' | 'report'
const KEY_SCOPES: readonly KeyScope[] = ['export', 'ingest', 'report']

const KEY_PREFIX = 'mida_sk_'
const SECRET_LENGTH = 32 // 62^32 ≈ 2^190
const CHECKSUM_LENGTH = 6
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}}$`)
/** How much of the key is kept in clear for display: the prefix and 4 characters. */
const DISPLAY_LENGTH = KEY_PREFIX.length + 4
/** Writing last_used_at on every request would turn reads into writes; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000
const DAY_MS = 86_400_000
/** The longest grace period a regenerated key may keep answering. */
const MAX_GRACE_MS = 30 * DAY_MS
/** A key this close to its expiry is warned about: on the settings page and by email. */
export const EXPIRY_WARNING_MS = 7 * DAY_MS
/** The latest expiry a key may be given: ten years. */
const MAX_EXPIRY_MS = 3653 * DAY_MS

/** An API key as stored: never the secret itself. */
export interface ApiKey {
  id: number
  storeId: number
  name: string
  scope: KeyScope
  prefix: string
  createdAt: number
  lastUsedAt: number | null
  /** When the key stopped (or, in a grace period, stops) answering. */
  revokedAt: number | null
  /** When the key stops answering by itself; null: never. */
  expiresAt: number | null
}

/** Where a key stands at an instant. */
export type KeyState = 'active' | 'grace' | 'expired' | 'revoked'

/** A key's state at `now` (ms): revoked (or expired) from that instant on, not before. */
export function keyState(key: Pick<ApiKey, 'revokedAt' | 'expiresAt'>, now: number): KeyState {
  if (key.revokedAt !== null) return key.revokedAt > now ? 'grace' : 'revoked'
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired'
  return 'active'
}

/**
 * True for a key that still answers but stops within EXPIRY_WARNING_MS by its expiry (not a
 * regenerated key in its grace period: its replacement is already issued).
 */
export function expiresSoon(key: Pick<ApiKey, 'revokedAt' | 'expiresAt'>, now: number): boolean {
  return (
    keyState(key, now) === 'active' &&
    key.expiresAt !== null &&
    key.expiresAt - now <= EXPIRY_WARNING_MS
  )
}

/** True while a key answers: active, or regenerated and still in its grace period. */
function keyAnswers(key: Pick<ApiKey, 'revokedAt' | 'expiresAt'>, now: number): boolean {
  if (key.expiresAt !== null && key.expiresAt <= now) return false
  return key.revokedAt === null || key.revokedAt > now
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
    throw new InvalidInput(`scope must be export, ingest or report, got ${JSON.stringify(scope)}`)
  }
  return scope as KeyScope
}

/** `90d`, `24h`, `30m`, `2w` or `0` in milliseconds; null when the text is none of these. */
function durationMs(text: string): number | null {
  const m = /^(\d{1,6})\s*([mhdw])$/.exec(text.trim())
  if (!m) return text.trim() === '0' ? 0 : null
  const unit = { m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }[m[2] as 'm' | 'h' | 'd' | 'w']
  return Number(m[1]) * unit
}

/**
 * When a key given `--expires` stops answering: `90d` (from now) or `YYYY-MM-DD` (at the start of
 * that day in the store's time zone, so the key answers through the day before). Must lie in the
 * future and within ten years.
 */
export function parseExpiry(text: string, now: number, timeZone: string): number {
  const trimmed = text.trim()
  const span = durationMs(trimmed)
  let at: number
  if (span !== null) {
    at = now + span
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    let date: Temporal.PlainDate
    try {
      date = Temporal.PlainDate.from(trimmed, { overflow: 'reject' })
    } catch {
      throw new InvalidInput(`expires: ${trimmed} is not a calendar date`)
    }
    at = date.toZonedDateTime({ timeZone }).epochMilliseconds
  } else {
    throw new InvalidInput(
      `expires must be a duration such as 90d, 12h or 2w, or a date YYYY-MM-DD, got ${JSON.stringify(trimmed)}`,
    )
  }
  if (at <= now) throw new InvalidInput(`expires: ${trimmed} is not in the future`)
  if (at - now > MAX_EXPIRY_MS) throw new InvalidInput('expires: at most ten years ahead')
  return at
}

/** A regeneration's grace period (`24h`, `30m`, `2d`, `0`) in milliseconds, at most 30 days. */
export function parseGrace(text: string): number {
  const ms = durationMs(text)
  if (ms === null) {
    throw new InvalidInput(
      `grace must be a duration such as 24h, 30m or 2d (or 0), got ${JSON.stringify(text.trim())}`,
    )
  }
  if (ms > MAX_GRACE_MS) throw new InvalidInput('grace: at most 30 days')
  return ms
}

/** What a key is created with beyond its name and scope. */
export interface KeyOptions {
  /** When the key stops answering (ms); null or absent: never. */
  expiresAt?: number | null
}

/** What a regeneration does beyond issuing the new key. */
export interface RegenerateOptions {
  /** How long the old key keeps answering (ms); default 0: it stops at once. */
  graceMs?: number
}

/** Issues a key with a fresh secret. */
async function issueKey(
  q: Queries,
  store: Store,
  name: string,
  scope: KeyScope,
  at: number,
  expiresAt: number | null,
): Promise<IssuedKey> {
  const secret = generateApiKey()
  const row = await insertKey(q, {
    storeId: store.id,
    name,
    scope,
    prefix: secret.slice(0, DISPLAY_LENGTH),
    keyHash: hashApiKey(secret),
    createdAt: at,
    expiresAt,
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
  options: KeyOptions = {},
): Promise<IssuedKey> {
  const cleanName = validName(name)
  const cleanScope = validScope(scope)
  const at = nowMs(clock)
  const expiresAt = options.expiresAt ?? null
  if (expiresAt !== null && expiresAt <= at) throw new InvalidInput('expires: not in the future')
  return data.tx(async (q) => {
    const holder = await activeKeyByName(q, store.id, cleanName)
    if (holder && holder.expires_at !== null && holder.expires_at <= at) {
      // An expired key answers nothing: its name is free. It is marked revoked when it expired.
      await revokeKey(q, holder.id, holder.expires_at)
    } else if (holder) {
      throw new Conflict(`An active key named "${cleanName}" already exists`)
    }
    const issued = await issueKey(q, store, cleanName, cleanScope, at, expiresAt)
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

/**
 * Revokes a key at once; revoking an already revoked key is an error that says so. A key in its
 * grace period (regenerated with `--grace`) is revoked now: the grace ends early.
 */
export async function revokeApiKey(
  data: Data,
  store: Store,
  idOrName: string,
  clock: Clock,
  by?: AuditActor,
): Promise<ApiKey> {
  return data.tx(async (q) => {
    const key = await findApiKey(q, store, idOrName)
    const at = nowMs(clock)
    if (key.revokedAt !== null && key.revokedAt <= at) {
      throw new Conflict(`Key ${key.id} (${key.name}) is already revoked`)
    }
    const revoked = toApiKey(await revokeKey(q, key.id, at))
    if (by) await recordAudit(q, { ...by, action: 'key.revoked', detail: describeKey(key) }, clock)
    // Before the commit: no call may be let in by the cached key once the revocation is visible.
    data.cache.invalidate()
    return revoked
  })
}

/**
 * Revokes a key and issues a new one with the same name and scope, in one transaction. With a
 * grace period the old key keeps answering that long (its revocation lies in the future). A key
 * that expires gives its replacement the same lifetime, counted from now.
 */
export async function regenerateApiKey(
  data: Data,
  store: Store,
  idOrName: string,
  clock: Clock,
  by?: AuditActor,
  options: RegenerateOptions = {},
): Promise<IssuedKey> {
  const graceMs = options.graceMs ?? 0
  if (graceMs < 0 || graceMs > MAX_GRACE_MS) throw new InvalidInput('grace: 0 to 30 days')
  return data.tx(async (q) => {
    const old = await findApiKey(q, store, idOrName)
    if (old.revokedAt !== null) {
      throw new Conflict(`Key ${old.id} (${old.name}) is revoked; create a new key instead`)
    }
    const at = nowMs(clock)
    await revokeKey(q, old.id, at + graceMs)
    const lifetime = old.expiresAt === null ? null : old.expiresAt - old.createdAt
    const expiresAt = lifetime === null ? null : at + lifetime
    const issued = await issueKey(q, store, old.name, old.scope, at, expiresAt)
    if (by) {
      const until = new Date(at + graceMs).toISOString()
      const grace = graceMs > 0 ? ` (the old key answers until ${until})` : ''
      const detail = `${describeKey(old)} → ${issued.key.prefix}…${grace}`
      await recordAudit(q, { ...by, action: 'key.regenerated', detail }, clock)
    }
    data.cache.invalidate()
    return issued
  })
}

/**
 * The key of one of the given scopes that this secret belongs to, or null: a key answers while it
 * is active, or in its grace period, and not expired (checked against the clock at each call, so
 * a cached key stops at its instant). Records the use. A malformed secret is rejected before any
 * lookup; a key found before is answered from the read cache without a query.
 */
export async function authenticateApiKey(
  data: Data,
  secret: string,
  scope: KeyScope | readonly KeyScope[],
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
  if (!row) return null
  const at = nowMs(clock)
  const scopes: readonly KeyScope[] = typeof scope === 'string' ? [scope] : scope
  if (!scopes.includes(row.scope)) return null
  if (!keyAnswers({ revokedAt: row.revoked_at, expiresAt: row.expires_at }, at)) return null
  if (row.last_used_at === null || at - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
    // Noted before the write, so the calls that arrive while it waits do not write it again.
    row.last_used_at = at
    await touchKey(data, row.id, at)
  }
  return toApiKey(row)
}
