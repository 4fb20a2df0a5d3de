import { createHash, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import type { Database } from '../db/database.ts'
import { type Clock, nowMs } from './clock.ts'
import { Conflict, InvalidInput } from './errors.ts'
import { randomBase62 } from './random.ts'
import { readSettingsOn, updateSettingsOn } from './settings.ts'

/** How long a setup link stays valid. */
export const SETUP_TOKEN_TTL_MS = 30 * 60_000
/** A login session ends after this long without a request… */
export const SESSION_IDLE_MS = 7 * 24 * 3_600_000
/** …and in any case this long after the login. */
const SESSION_MAX_MS = 30 * 24 * 3_600_000
/** Writing last_seen_at on every page view is wasteful; once a minute keeps the idle limit exact enough. */
const SESSION_TOUCH_MS = 60_000

/** An administrator of the settings page. */
export interface Admin {
  id: number
  email: string
  createdAt: number
  updatedAt: number
}

/** A logged-in browser: the admin and the CSRF token its forms must send back. */
export interface AdminSession {
  admin: Admin
  csrfToken: string
  expiresAt: number
}

/** Email or password that fail validation, with a message per field for the form. */
export class AdminInputError extends InvalidInput {
  constructor(readonly fields: Record<string, string>) {
    super(
      Object.entries(fields)
        .map(([k, v]) => `${k} ${v}`)
        .join('; '),
    )
  }
}

const credentials = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email('must be an email address')),
  password: z
    .string()
    .min(8, 'must be at least 8 characters')
    .max(200, 'must be at most 200 characters'),
})

/** Validates an email and a password, naming each bad field. */
export function validateCredentials(
  email: string,
  password: string,
): { email: string; password: string } {
  const parsed = credentials.safeParse({ email, password })
  if (parsed.success) return parsed.data
  const fields: Record<string, string> = {}
  for (const issue of parsed.error.issues) {
    const key = String(issue.path[0] ?? 'email')
    fields[key] ??= issue.message
  }
  throw new AdminInputError(fields)
}

/** The SHA-256 of a token, hex: what the database keeps instead of the token. */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Compares two strings in constant time (for tokens). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

interface AdminRow {
  id: number
  email: string
  created_at: number
  updated_at: number
}

function fromRow(r: AdminRow): Admin {
  return { id: r.id, email: r.email, createdAt: r.created_at, updatedAt: r.updated_at }
}

/** Hashes a password with argon2id. */
export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' })
}

/** How many admins exist. */
export function countAdmins(db: Database): number {
  return (db.query('SELECT count(*) AS n FROM admins').get() as { n: number }).n
}

/** All admins, oldest first. */
export function listAdmins(db: Database): Admin[] {
  return (
    db.query('SELECT id, email, created_at, updated_at FROM admins ORDER BY id').all() as AdminRow[]
  ).map(fromRow)
}

/**
 * Creates an admin, or resets the password of the admin with that email (ending its sessions,
 * so a recovered account is not left open in a forgotten browser).
 */
export async function createOrResetAdmin(
  db: Database,
  email: string,
  password: string,
  clock: Clock,
): Promise<{ admin: Admin; created: boolean }> {
  const clean = validateCredentials(email, password)
  const hash = await hashPassword(clean.password)
  return db
    .transaction(() => {
      const at = nowMs(clock)
      const existing = db.query('SELECT id FROM admins WHERE email = ?').get(clean.email) as {
        id: number
      } | null
      if (existing) {
        db.query('UPDATE admins SET password_hash = ?, updated_at = ? WHERE id = ?').run(
          hash,
          at,
          existing.id,
        )
        db.query('DELETE FROM admin_sessions WHERE admin_id = ?').run(existing.id)
      } else {
        db.query(
          'INSERT INTO admins (email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)',
        ).run(clean.email, hash, at, at)
      }
      const row = db
        .query('SELECT id, email, created_at, updated_at FROM admins WHERE email = ?')
        .get(clean.email) as AdminRow
      return { admin: fromRow(row), created: !existing }
    })
    .immediate()
}

/**
 * Makes the first admin's email the store email of every store that has none, so notifications
 * (which go to the store email when no Recipient is set) reach someone from the start. A store
 * email already set is kept.
 */
export function adoptAdminEmail(db: Database, email: string, clock: Clock): void {
  const stores = db.query('SELECT id FROM stores ORDER BY id').all() as { id: number }[]
  for (const { id } of stores) {
    if (readSettingsOn(db, id).store_email === '') {
      updateSettingsOn(db, id, { store_email: email }, clock)
    }
  }
}

/** Issues a one-time setup link token, valid for 30 minutes. */
export function issueSetupToken(db: Database, clock: Clock): { token: string; expiresAt: number } {
  const token = randomBase62(32)
  const at = nowMs(clock)
  const expiresAt = at + SETUP_TOKEN_TTL_MS
  db.query('DELETE FROM setup_tokens WHERE expires_at <= ?').run(at)
  db.query('INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)').run(
    hashToken(token),
    at,
    expiresAt,
  )
  return { token, expiresAt }
}

/** Why a setup link cannot be used, or null when it can. */
export function setupTokenProblem(db: Database, token: string, clock: Clock): string | null {
  if (countAdmins(db) > 0) return 'An admin already exists. Log in instead.'
  const row = db
    .query('SELECT expires_at, used_at FROM setup_tokens WHERE token_hash = ?')
    .get(hashToken(token)) as { expires_at: number; used_at: number | null } | null
  if (!row) return 'This setup link is not valid.'
  if (row.used_at !== null) return 'This setup link was already used.'
  if (row.expires_at <= nowMs(clock)) {
    return 'This setup link has expired. Restart the server to get a new one.'
  }
  return null
}

/**
 * Creates the first admin with a setup link: the link must be valid and unused and no admin may
 * exist yet. The link is spent in the same transaction.
 */
export async function createFirstAdmin(
  db: Database,
  token: string,
  email: string,
  password: string,
  clock: Clock,
): Promise<Admin> {
  const clean = validateCredentials(email, password)
  const early = setupTokenProblem(db, token, clock)
  if (early) throw new Conflict(early)
  const hash = await hashPassword(clean.password)
  return db
    .transaction(() => {
      // Checked again inside the write lock: two tabs submitting the same link create one admin.
      const problem = setupTokenProblem(db, token, clock)
      if (problem) throw new Conflict(problem)
      const at = nowMs(clock)
      db.query('UPDATE setup_tokens SET used_at = ? WHERE token_hash = ?').run(at, hashToken(token))
      const row = db
        .query(
          `INSERT INTO admins (email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
           RETURNING id, email, created_at, updated_at`,
        )
        .get(clean.email, hash, at, at) as AdminRow
      adoptAdminEmail(db, row.email, clock)
      return fromRow(row)
    })
    .immediate()
}

// Verified when the email is unknown, so a wrong email takes as long as a wrong password.
let dummyHash: Promise<string> | undefined

/** The admin whose email and password these are, or null. */
export async function verifyLogin(
  db: Database,
  email: string,
  password: string,
): Promise<Admin | null> {
  const row = db
    .query('SELECT id, email, created_at, updated_at, password_hash FROM admins WHERE email = ?')
    // Stored trimmed and lowercased (validateCredentials); the column also compares without case.
    .get(email.trim().toLowerCase()) as (AdminRow & { password_hash: string }) | null
  if (!row) {
    dummyHash ??= hashPassword(randomBase62(16))
    await Bun.password.verify(password, await dummyHash)
    return null
  }
  return (await Bun.password.verify(password, row.password_hash)) ? fromRow(row) : null
}

/** Starts a login session; returns the cookie token (shown to nobody else) and the CSRF token. */
export function startSession(
  db: Database,
  adminId: number,
  clock: Clock,
): { token: string; csrfToken: string; expiresAt: number } {
  const token = randomBase62(43)
  const csrfToken = randomBase62(32)
  const at = nowMs(clock)
  const expiresAt = at + SESSION_IDLE_MS
  db.query('DELETE FROM admin_sessions WHERE expires_at <= ? OR created_at <= ?').run(
    at,
    at - SESSION_MAX_MS,
  )
  db.query(
    `INSERT INTO admin_sessions (token_hash, admin_id, csrf_token, created_at, last_seen_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(hashToken(token), adminId, csrfToken, at, at, expiresAt)
  return { token, csrfToken, expiresAt }
}

/** The live session of a cookie token, or null; extends the idle limit. */
export function findSession(db: Database, token: string, clock: Clock): AdminSession | null {
  if (!/^[0-9A-Za-z]{43}$/.test(token)) return null
  const tokenHash = hashToken(token)
  const row = db
    .query(
      `SELECT a.id, a.email, a.created_at, a.updated_at, s.csrf_token, s.created_at AS started_at,
         s.last_seen_at, s.expires_at
       FROM admin_sessions s JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = ?`,
    )
    .get(tokenHash) as
    | (AdminRow & {
        csrf_token: string
        started_at: number
        last_seen_at: number
        expires_at: number
      })
    | null
  const at = nowMs(clock)
  if (!row || row.expires_at <= at || row.started_at <= at - SESSION_MAX_MS) return null
  let expiresAt = row.expires_at
  if (at - row.last_seen_at >= SESSION_TOUCH_MS) {
    expiresAt = Math.min(at + SESSION_IDLE_MS, row.started_at + SESSION_MAX_MS)
    db.query('UPDATE admin_sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?').run(
      at,
      expiresAt,
      tokenHash,
    )
  }
  return { admin: fromRow(row), csrfToken: row.csrf_token, expiresAt }
}

/** Ends a login session (logout). */
export function endSession(db: Database, token: string): void {
  db.query('DELETE FROM admin_sessions WHERE token_hash = ?').run(hashToken(token))
}
