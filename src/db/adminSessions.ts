// The login sessions' statements (table admin_sessions). A session is found by its cookie
// token's SHA-256; the token itself is never stored.
import type { Admin } from '../domain/admins.ts'
import { toAdmin } from './admins.ts'
import type { Queries } from './data.ts'

/** A session joined with its admin. */
interface SessionRow {
  id: number
  email: string
  created_at: number
  updated_at: number
  all_stores: number
  csrf_token: string
  started_at: number
  last_seen_at: number
  expires_at: number
}

/** A stored session and its admin. */
export interface StoredSession {
  admin: Admin
  csrfToken: string
  startedAt: number
  lastSeenAt: number
  expiresAt: number
}

/** What a new session's row holds. */
export interface NewSession {
  tokenHash: string
  adminId: number
  csrfToken: string
  at: number
  expiresAt: number
}

/** Deletes the sessions expired at `at` or begun at `startedBy` or before. */
export function deleteEndedSessions(q: Queries, at: number, startedBy: number): Promise<number> {
  return q.run('DELETE FROM admin_sessions WHERE expires_at <= ? OR created_at <= ?', at, startedBy)
}

/** Stores a new session. */
export function insertSession(q: Queries, s: NewSession): Promise<number> {
  return q.run(
    `INSERT INTO admin_sessions (token_hash, admin_id, csrf_token, created_at, last_seen_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
    s.tokenHash,
    s.adminId,
    s.csrfToken,
    s.at,
    s.at,
    s.expiresAt,
  )
}

/** The session of a token hash with its admin, or null. */
export async function sessionByTokenHash(
  q: Queries,
  tokenHash: string,
): Promise<StoredSession | null> {
  const row = await q.get<SessionRow>(
    `SELECT a.id, a.email, a.created_at, a.updated_at, a.all_stores, s.csrf_token, s.created_at AS started_at,
       s.last_seen_at, s.expires_at
     FROM admin_sessions s JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = ?`,
    tokenHash,
  )
  return (
    row && {
      admin: toAdmin(row),
      csrfToken: row.csrf_token,
      startedAt: row.started_at,
      lastSeenAt: row.last_seen_at,
      expiresAt: row.expires_at,
    }
  )
}

/** Records a session's activity and its new expiry. */
export function touchSession(
  q: Queries,
  tokenHash: string,
  at: number,
  expiresAt: number,
): Promise<number> {
  return q.run(
    'UPDATE admin_sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?',
    at,
    expiresAt,
    tokenHash,
  )
}

/** Ends one session. */
export function deleteSession(q: Queries, tokenHash: string): Promise<number> {
  return q.run('DELETE FROM admin_sessions WHERE token_hash = ?', tokenHash)
}

/** Ends every session of an admin. */
export function deleteSessionsOfAdmin(q: Queries, adminId: number): Promise<number> {
  return q.run('DELETE FROM admin_sessions WHERE admin_id = ?', adminId)
}
