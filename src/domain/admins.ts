import { createHash, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import {
  deleteEndedSessions,
  deleteSession,
  deleteSessionsOfAdmin,
  insertSession,
  sessionByTokenHash,
  touchSession,
} from '../db/adminSessions.ts'
import {
  adminByEmail,
  adminCount,
  adminCredentials,
  allAdmins,
  deleteExpiredSetupTokens,
  insertAdmin,
  insertSetupToken,
  setAdminPassword,
  setupTokenByHash,
  spendSetupToken,
} from '../db/admins.ts'
import type { Data, Queries } from '../db/data.ts'
import { setAdminStores } from '../db/stores.ts'
import { randomBase62 } from '../lib/random.ts'
import { type AuditActor, recordAudit } from './audit.ts'
import { type Clock, nowMs } from './clock.ts'
import { Conflict, InvalidInput } from './errors.ts'
import { readSettings, updateSettings } from './settings.ts'
import { storesOfAdmin } from './stores.ts'

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
  /** Sees every store; else only the stores of `admin_stores` (see `storesOfAdmin`). */
  allStores: boolean
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

/** Hashes a password with argon2id. */
export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' })
}

/** How many admins exist. */
export function countAdmins(data: Data): Promise<number> {
  return adminCount(data)
}

/** All admins, oldest first. */
export function listAdmins(data: Data): Promise<Admin[]> {
  return allAdmins(data)
}

/**
 * Creates an admin, or resets the password of the admin with that email (ending its sessions,
 * so a recovered account is not left open in a forgotten browser). With `by`, the audit entry
 * (`admin.created` or `admin.reset`) is written in the same transaction. `stores` limits the
 * admin to those store ids ('all': every store; undefined: a new admin sees every store, an
 * existing one keeps what it had).
 */
export async function createOrResetAdmin(
  data: Data,
  email: string,
  password: string,
  clock: Clock,
  by?: AuditActor,
  stores?: number[] | 'all',
): Promise<{ admin: Admin; created: boolean }> {
  const clean = validateCredentials(email, password)
  const hash = await hashPassword(clean.password)
  return data.tx(async (q) => {
    const at = nowMs(clock)
    const existing = await adminByEmail(q, clean.email)
    let admin: Admin
    if (existing) {
      admin = await setAdminPassword(q, existing.id, hash, at)
      await deleteSessionsOfAdmin(q, existing.id)
    } else admin = await insertAdmin(q, clean.email, hash, at)
    if (stores !== undefined) {
      await setAdminStores(q, admin.id, stores)
      admin = { ...admin, allStores: stores === 'all' }
    }
    const action = existing ? 'admin.reset' : 'admin.created'
    if (by) await recordAudit(q, { ...by, action, detail: admin.email }, clock)
    return { admin, created: !existing }
  })
}

/**
 * Makes the first admin's email the store email of every store it sees that has none, so
 * notifications (which go to the store email when no Recipient is set) reach someone from the
 * start. A store email already set is kept; a store the admin may not see is left alone (its
 * emails would tell a limited admin another store's name and figures).
 */
export async function adoptAdminEmail(data: Data, admin: Admin, clock: Clock): Promise<void> {
  for (const store of await storesOfAdmin(data, admin)) {
    if ((await readSettings(data, store)).store_email === '') {
      await updateSettings(data, store, { store_email: admin.email }, clock)
    }
  }
}

/** Issues a one-time setup link token, valid for 30 minutes. */
export async function issueSetupToken(
  data: Data,
  clock: Clock,
): Promise<{ token: string; expiresAt: number }> {
  const token = randomBase62(32)
  const at = nowMs(clock)
  const expiresAt = at + SETUP_TOKEN_TTL_MS
  await data.tx(async (q) => {
    await deleteExpiredSetupTokens(q, at)
    await insertSetupToken(q, hashToken(token), at, expiresAt)
  })
  return { token, expiresAt }
}

/** Why a setup link cannot be used, or null when it can. */
export async function setupTokenProblem(
  q: Queries,
  token: string,
  clock: Clock,
): Promise<string | null> {
  if ((await adminCount(q)) > 0) return 'An admin already exists. Log in instead.'
  const row = await setupTokenByHash(q, hashToken(token))
  if (!row) return 'This setup link is not valid.'
  if (row.used_at !== null) return 'This setup link was already used.'
  if (row.expires_at <= nowMs(clock)) {
    return 'This setup link has expired. Restart the server to get a new one.'
  }
  return null
}

/**
 * Creates the first admin with a setup link: the link must be valid and unused and no admin may
 * exist yet. The link is spent in the same transaction, and with `from` the audit entry
 * (`admin.created` by the new admin, `setup link`) is written in it. Then the admin's email
 * becomes the store email of the stores that have none.
 */
export async function createFirstAdmin(
  data: Data,
  token: string,
  email: string,
  password: string,
  clock: Clock,
  from?: Omit<AuditActor, 'actor'>,
): Promise<Admin> {
  const clean = validateCredentials(email, password)
  const early = await setupTokenProblem(data, token, clock)
  if (early) throw new Conflict(early)
  const hash = await hashPassword(clean.password)
  const admin = await data.tx(async (q) => {
    // Checked again inside the write lock: two tabs submitting the same link create one admin.
    const problem = await setupTokenProblem(q, token, clock)
    if (problem) throw new Conflict(problem)
    const at = nowMs(clock)
    await spendSetupToken(q, hashToken(token), at)
    const admin = await insertAdmin(q, clean.email, hash, at)
    if (from) {
      const entry = { ...from, actor: admin.email, detail: 'setup link' } as const
      await recordAudit(q, { ...entry, action: 'admin.created' }, clock)
    }
    return admin
  })
  await adoptAdminEmail(data, admin, clock)
  return admin
}

// Verified when the email is unknown, so a wrong email takes as long as a wrong password.
let dummyHash: Promise<string> | undefined

/** The admin whose email and password these are, or null. */
export async function verifyLogin(
  data: Data,
  email: string,
  password: string,
): Promise<Admin | null> {
  // Stored trimmed and lowercased (validateCredentials); the column also compares without case.
  const found = await adminCredentials(data, email.trim().toLowerCase())
  if (!found) {
    dummyHash ??= hashPassword(randomBase62(16))
    await Bun.password.verify(password, await dummyHash)
    return null
  }
  return (await Bun.password.verify(password, found.passwordHash)) ? found.admin : null
}

/**
 * Starts a login session; returns the cookie token (shown to nobody else) and the CSRF token.
 * With `by`, the `login` audit entry is written in the same transaction.
 */
export async function startSession(
  data: Data,
  adminId: number,
  clock: Clock,
  by?: AuditActor,
): Promise<{ token: string; csrfToken: string; expiresAt: number }> {
  const token = randomBase62(43)
  const csrfToken = randomBase62(32)
  const at = nowMs(clock)
  const expiresAt = at + SESSION_IDLE_MS
  await data.tx(async (q) => {
    await deleteEndedSessions(q, at, at - SESSION_MAX_MS)
    await insertSession(q, { tokenHash: hashToken(token), adminId, csrfToken, at, expiresAt })
    if (by) await recordAudit(q, { ...by, action: 'login' }, clock)
  })
  return { token, csrfToken, expiresAt }
}

/** The live session of a cookie token, or null; extends the idle limit. */
export async function findSession(
  data: Data,
  token: string,
  clock: Clock,
): Promise<AdminSession | null> {
  if (!/^[0-9A-Za-z]{43}$/.test(token)) return null
  const tokenHash = hashToken(token)
  const session = await sessionByTokenHash(data, tokenHash)
  const at = nowMs(clock)
  if (!session || session.expiresAt <= at || session.startedAt <= at - SESSION_MAX_MS) return null
  let expiresAt = session.expiresAt
  if (at - session.lastSeenAt >= SESSION_TOUCH_MS) {
    expiresAt = Math.min(at + SESSION_IDLE_MS, session.startedAt + SESSION_MAX_MS)
    await touchSession(data, tokenHash, at, expiresAt)
  }
  return { admin: session.admin, csrfToken: session.csrfToken, expiresAt }
}

/** Ends a login session (logout); with `by`, the `logout` audit entry is written with it. */
export async function endSession(
  data: Data,
  token: string,
  clock: Clock,
  by?: AuditActor,
): Promise<void> {
  await data.tx(async (q) => {
    await deleteSession(q, hashToken(token))
    if (by) await recordAudit(q, { ...by, action: 'logout' }, clock)
  })
}
