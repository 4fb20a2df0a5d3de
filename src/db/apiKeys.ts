// The API keys' statements (table api_keys). Only a key's SHA-256 is stored, never the key.
import type { ApiKey, KeyScope } from '../domain/keys.ts'
import type { Queries } from './data.ts'

/** A row of api_keys, without the hash. */
export interface KeyRow {
  id: number
  store_id: number
  name: string
  scope: KeyScope
  prefix: string
  created_at: number
  last_used_at: number | null
  /** In the future for a regenerated key in its grace period: it answers until then. */
  revoked_at: number | null
  expires_at: number | null
}

const COLUMNS =
  'id, store_id, name, scope, prefix, created_at, last_used_at, revoked_at, expires_at'

/** The key as the domain sees it. */
export function toApiKey(r: KeyRow): ApiKey {
  return {
    id: r.id,
    storeId: r.store_id,
    name: r.name,
    scope: r.scope,
    prefix: r.prefix,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
    expiresAt: r.expires_at,
  }
}

/** What a new key's row holds. */
export interface NewKey {
  storeId: number
  name: string
  scope: KeyScope
  prefix: string
  keyHash: string
  createdAt: number
  expiresAt: number | null
}

/** Stores a new key; resolves to its row. */
export async function insertKey(q: Queries, k: NewKey): Promise<KeyRow> {
  const row = await q.get<KeyRow>(
    `INSERT INTO api_keys (store_id, name, scope, prefix, key_hash, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    k.storeId,
    k.name,
    k.scope,
    k.prefix,
    k.keyHash,
    k.createdAt,
    k.expiresAt,
  )
  if (!row) throw new Error('INSERT … RETURNING gave no row')
  return row
}

/** A store's keys, newest first, revoked ones included. */
export function keysOfStore(q: Queries, storeId: number): Promise<KeyRow[]> {
  return q.all<KeyRow>(
    `SELECT ${COLUMNS} FROM api_keys WHERE store_id = ? ORDER BY id DESC`,
    storeId,
  )
}

/** A store's key by id, revoked or not. */
export function keyById(q: Queries, storeId: number, id: number): Promise<KeyRow | null> {
  return q.get<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE store_id = ? AND id = ?`, storeId, id)
}

/** A store's active key by name. */
export function activeKeyByName(q: Queries, storeId: number, name: string): Promise<KeyRow | null> {
  return q.get<KeyRow>(
    `SELECT ${COLUMNS} FROM api_keys WHERE store_id = ? AND name = ? AND revoked_at IS NULL`,
    storeId,
    name,
  )
}

/** The key whose SHA-256 this is, in any store, revoked or not. */
export function keyByHash(q: Queries, keyHash: string): Promise<KeyRow | null> {
  return q.get<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ?`, keyHash)
}

/** Marks a key revoked from `at` on (a future `at`: a grace period); resolves to its row. */
export async function revokeKey(q: Queries, id: number, at: number): Promise<KeyRow> {
  const row = await q.get<KeyRow>(
    `UPDATE api_keys SET revoked_at = ? WHERE id = ? RETURNING ${COLUMNS}`,
    at,
    id,
  )
  if (!row) throw new Error(`No key ${id} to revoke`)
  return row
}

/** Records a key's use. */
export function touchKey(q: Queries, id: number, at: number): Promise<number> {
  return q.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', at, id)
}

/** A store's keys, not revoked, whose expiry lies in (`after`, `until`]: the ones to warn about. */
export function keysExpiringBetween(
  q: Queries,
  storeId: number,
  after: number,
  until: number,
): Promise<KeyRow[]> {
  return q.all<KeyRow>(
    `SELECT ${COLUMNS} FROM api_keys
     WHERE store_id = ? AND revoked_at IS NULL AND expires_at > ? AND expires_at <= ?
     ORDER BY id`,
    storeId,
    after,
    until,
  )
}
