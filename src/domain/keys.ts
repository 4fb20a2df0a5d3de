import type { Database } from '../db/database.ts'
import { type Clock, nowMs } from './clock.ts'
import { Conflict, InvalidInput, NotFound } from './errors.ts'
import { randomBase62, toBase62 } from './random.ts'

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

interface KeyRow {
  id: number
  store_id: number
  name: string
  scope: KeyScope
  prefix: string
  created_at: number
  last_used_at: number | null
  revoked_at: number | null
}

const COLUMNS = 'id, store_id, name, scope, prefix, created_at, last_used_at, revoked_at'

function fromRow(r: KeyRow): ApiKey {
  return {
    id: r.id,
    storeId: r.store_id,
    name: r.name,
    scope: r.scope,
    prefix: r.prefix,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  }
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

function insertKey(
  db: Database,
  storeId: number,
  name: string,
  scope: KeyScope,
  at: number,
): IssuedKey {
  const secret = generateApiKey()
  const row = db
    .query(
      `INSERT INTO api_keys (store_id, name, scope, prefix, key_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(storeId, name, scope, secret.slice(0, DISPLAY_LENGTH), hashApiKey(secret), at) as KeyRow
  return { key: fromRow(row), secret }
}

/** Issues a named key of a scope. Names are unique among a store's active keys. */
export function createApiKey(
  db: Database,
  storeId: number,
  name: string,
  scope: string,
  clock: Clock,
): IssuedKey {
  const cleanName = validName(name)
  const cleanScope = validScope(scope)
  return db
    .transaction(() => {
      const taken = db
        .query('SELECT 1 FROM api_keys WHERE store_id = ? AND name = ? AND revoked_at IS NULL')
        .get(storeId, cleanName)
      if (taken) throw new Conflict(`An active key named "${cleanName}" already exists`)
      return insertKey(db, storeId, cleanName, cleanScope, nowMs(clock))
    })
    .immediate()
}

/** All keys of a store, newest first, revoked ones included. */
export function listApiKeys(db: Database, storeId: number): ApiKey[] {
  return (
    db
      .query(`SELECT ${COLUMNS} FROM api_keys WHERE store_id = ? ORDER BY id DESC`)
      .all(storeId) as KeyRow[]
  ).map(fromRow)
}

/** Finds a key by numeric id, or by the name of an active key. */
export function findApiKey(db: Database, storeId: number, idOrName: string): ApiKey {
  const ref = idOrName.trim()
  const row = (
    /^\d+$/.test(ref)
      ? db
          .query(`SELECT ${COLUMNS} FROM api_keys WHERE store_id = ? AND id = ?`)
          .get(storeId, Number(ref))
      : db
          .query(
            `SELECT ${COLUMNS} FROM api_keys WHERE store_id = ? AND name = ? AND revoked_at IS NULL`,
          )
          .get(storeId, ref)
  ) as KeyRow | null
  if (!row) throw new NotFound(`No key with id or active name ${JSON.stringify(ref)}`)
  return fromRow(row)
}

/** Revokes a key; revoking an already revoked key is an error that says so. */
export function revokeApiKey(
  db: Database,
  storeId: number,
  idOrName: string,
  clock: Clock,
): ApiKey {
  return db
    .transaction(() => {
      const key = findApiKey(db, storeId, idOrName)
      if (key.revokedAt !== null)
        throw new Conflict(`Key ${key.id} (${key.name}) is already revoked`)
      const row = db
        .query(`UPDATE api_keys SET revoked_at = ? WHERE id = ? RETURNING ${COLUMNS}`)
        .get(nowMs(clock), key.id) as KeyRow
      db.cache.invalidate()
      return fromRow(row)
    })
    .immediate()
}

/** Revokes a key and issues a new one with the same name and scope, in one transaction. */
export function regenerateApiKey(
  db: Database,
  storeId: number,
  idOrName: string,
  clock: Clock,
): IssuedKey {
  return db
    .transaction(() => {
      const old = findApiKey(db, storeId, idOrName)
      if (old.revokedAt !== null) {
        throw new Conflict(`Key ${old.id} (${old.name}) is revoked; create a new key instead`)
      }
      const at = nowMs(clock)
      db.query('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(at, old.id)
      db.cache.invalidate()
      return insertKey(db, storeId, old.name, old.scope, at)
    })
    .immediate()
}

/**
 * The active key of the given scope that this secret belongs to, or null. Records the use.
 * A malformed secret is rejected before any lookup.
 */
export function authenticateApiKey(
  db: Database,
  secret: string,
  scope: KeyScope,
  clock: Clock,
): ApiKey | null {
  if (!KEY_PATTERN.test(secret)) return null
  const hash = hashApiKey(secret)
  const cache = db.cache
  const cacheKey = `key:${hash}`
  // A key found before is well formed; any other is checked before the lookup (typos need none).
  const row =
    cache.peek<KeyRow>(cacheKey) ??
    (isWellFormedApiKey(secret)
      ? cache.get(cacheKey, () => {
          return db
            .query(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ?`)
            .get(hash) as KeyRow | null
        })
      : null)
  if (!row || row.revoked_at !== null || row.scope !== scope) return null
  const at = nowMs(clock)
  if (row.last_used_at === null || at - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
    db.query('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, row.id)
    row.last_used_at = at
  }
  return fromRow(row)
}
