// The admins' and the setup links' statements (tables admins, setup_tokens). Passwords are
// stored as argon2id hashes, setup links as SHA-256 hashes.
import type { Admin } from '../domain/admins.ts'
import type { Queries } from './data.ts'

interface AdminRow {
  id: number
  email: string
  created_at: number
  updated_at: number
  all_stores: number
}

const COLUMNS = 'id, email, created_at, updated_at, all_stores'

/** The admin as the domain sees it. */
export function toAdmin(r: AdminRow): Admin {
  return {
    id: r.id,
    email: r.email,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    allStores: r.all_stores === 1,
  }
}

/** How many admins exist. */
export async function adminCount(q: Queries): Promise<number> {
  const row = await q.get<{ n: number }>('SELECT count(*) AS n FROM admins')
  return row?.n ?? 0
}

/** Every admin, oldest first. */
export async function allAdmins(q: Queries): Promise<Admin[]> {
  return (await q.all<AdminRow>(`SELECT ${COLUMNS} FROM admins ORDER BY id`)).map(toAdmin)
}

/**
 * Emails compare without (ASCII) case: they are stored lowercased, but a row written by hand may
 * not be. SQLite's column is NOCASE; PostgreSQL's is not, so the comparison says it itself (its
 * `lower` on a "C" column folds ASCII alone, as NOCASE does; its unique index is on `lower(email)`).
 */
const SAME_EMAIL = 'lower(email) = lower(?)'

/** The admin with this email. */
export async function adminByEmail(q: Queries, email: string): Promise<Admin | null> {
  const row = await q.get<AdminRow>(`SELECT ${COLUMNS} FROM admins WHERE ${SAME_EMAIL}`, email)
  return row && toAdmin(row)
}

/** The admin with this email and its password hash, for a login. */
export async function adminCredentials(
  q: Queries,
  email: string,
): Promise<{ admin: Admin; passwordHash: string } | null> {
  const row = await q.get<AdminRow & { password_hash: string }>(
    `SELECT ${COLUMNS}, password_hash FROM admins WHERE ${SAME_EMAIL}`,
    email,
  )
  return row && { admin: toAdmin(row), passwordHash: row.password_hash }
}

/** Adds an admin; resolves to it. */
export async function insertAdmin(
  q: Queries,
  email: string,
  passwordHash: string,
  at: number,
): Promise<Admin> {
  const row = await q.get<AdminRow>(
    `INSERT INTO admins (email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
     RETURNING ${COLUMNS}`,
    email,
    passwordHash,
    at,
    at,
  )
  if (!row) throw new Error('INSERT … RETURNING gave no row')
  return toAdmin(row)
}

/** Replaces an admin's password hash; resolves to the admin as it is now. */
export async function setAdminPassword(
  q: Queries,
  id: number,
  passwordHash: string,
  at: number,
): Promise<Admin> {
  const row = await q.get<AdminRow>(
    `UPDATE admins SET password_hash = ?, updated_at = ? WHERE id = ? RETURNING ${COLUMNS}`,
    passwordHash,
    at,
    id,
  )
  if (!row) throw new Error(`No admin ${id}`)
  return toAdmin(row)
}

/** A setup link's state. */
export interface SetupTokenRow {
  expires_at: number
  used_at: number | null
}

/** Forgets the setup links expired at `at`. */
export function deleteExpiredSetupTokens(q: Queries, at: number): Promise<number> {
  return q.run('DELETE FROM setup_tokens WHERE expires_at <= ?', at)
}

/** Stores a new setup link's hash. */
export function insertSetupToken(
  q: Queries,
  tokenHash: string,
  at: number,
  expiresAt: number,
): Promise<number> {
  return q.run(
    'INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)',
    tokenHash,
    at,
    expiresAt,
  )
}

/** The setup link with this hash, or null. */
export function setupTokenByHash(q: Queries, tokenHash: string): Promise<SetupTokenRow | null> {
  return q.get<SetupTokenRow>(
    'SELECT expires_at, used_at FROM setup_tokens WHERE token_hash = ?',
    tokenHash,
  )
}

/** Marks a setup link used. */
export function spendSetupToken(q: Queries, tokenHash: string, at: number): Promise<number> {
  return q.run('UPDATE setup_tokens SET used_at = ? WHERE token_hash = ?', at, tokenHash)
}
