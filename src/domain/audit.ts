import type { Database } from '../db/database.ts'
import { type Clock, nowMs } from './clock.ts'
import type { StoreSettings } from './settings.ts'

/** What the audit log records; the settings page shows each with its label. */
export const AUDIT_ACTIONS = {
  'key.created': 'API key created',
  'key.revoked': 'API key revoked',
  'key.regenerated': 'API key regenerated',
  'api.enabled': 'API switched on',
  'api.disabled': 'API switched off',
  'settings.changed': 'Settings changed',
  login: 'Logged in',
  'login.failed': 'Failed login',
  'login.throttled': 'Login refused: too many failures',
  logout: 'Logged out',
  'admin.created': 'Admin created',
  'admin.reset': 'Admin password reset',
} as const

export type AuditAction = keyof typeof AUDIT_ACTIONS

/** The actor of a command-line action. */
export const CLI_ACTOR = 'cli'
/** The actor of what start-up did from MIDA_ADMIN_EMAIL / MIDA_ADMIN_PASSWORD. */
export const ENV_ACTOR = 'environment'

/** One audit entry as written: never a secret value, only the names of what changed. */
export interface AuditInput {
  storeId: number
  /** An admin's email, `cli`, or `api key <prefix>`. */
  actor: string
  /** The client address, null for the command line. */
  address: string | null
  action: AuditAction
  detail?: string
}

export interface AuditEntry extends Required<AuditInput> {
  id: number
  /** When it happened; for a counted row, the first time. */
  at: number
  /** How many times it happened in a row (a flood of refused logins is one row). */
  count: number
}

/** Long free text (a typed email, a key name) is cut so one entry stays one line. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Appends one entry to the audit log. */
export function recordAudit(db: Database, entry: AuditInput, clock: Clock): void {
  db.query(
    'INSERT INTO audit_log (store_id, at, actor, address, action, detail) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(
    entry.storeId,
    nowMs(clock),
    clip(entry.actor, 200),
    entry.address === null ? null : clip(entry.address, 100),
    entry.action,
    clip(entry.detail ?? '', 500),
  )
}

/**
 * Records a repeatable event (a throttled login): when the address's latest entry is the same
 * action, begun less than `windowMs` ago (the throttle's window), it is counted there instead of
 * adding a row. Between two throttle windows an address always leaves another entry (its failed
 * logins), so each window of refusals is one row; its time and actor are the first refusal's.
 */
export function recordRepeatedAudit(
  db: Database,
  entry: AuditInput,
  windowMs: number,
  clock: Clock,
): void {
  const at = nowMs(clock)
  db.transaction(() => {
    const latest = db
      .query(
        `SELECT id, action, at FROM audit_log WHERE store_id = ? AND address IS ?
         ORDER BY id DESC LIMIT 1`,
      )
      .get(entry.storeId, entry.address === null ? null : clip(entry.address, 100)) as {
      id: number
      action: string
      at: number
    } | null
    if (latest && latest.action === entry.action && at - latest.at < windowMs) {
      db.query('UPDATE audit_log SET count = count + 1 WHERE id = ?').run(latest.id)
    } else recordAudit(db, entry, clock)
  })()
}

/**
 * Deletes the audit entries older than `keepDays` (0: keeps them all); returns how many went.
 * Run by the server's background jobs.
 */
export function pruneAuditLog(db: Database, keepDays: number, clock: Clock): number {
  if (keepDays <= 0) return 0
  return db.query('DELETE FROM audit_log WHERE at < ?').run(nowMs(clock) - keepDays * 86_400_000)
    .changes
}

/** The store's most recent audit entries, newest first. */
export function recentAudit(db: Database, storeId: number, limit = 50): AuditEntry[] {
  return db
    .query(
      `SELECT id, store_id AS storeId, at, actor, address, action, detail, count FROM audit_log
       WHERE store_id = ? ORDER BY at DESC, id DESC LIMIT ?`,
    )
    .all(storeId, limit) as AuditEntry[]
}

/** The names of the settings whose values differ (secrets compared, never recorded). */
function changedSettings(before: StoreSettings, after: StoreSettings): string[] {
  return (Object.keys(after) as (keyof StoreSettings)[]).filter((k) => before[k] !== after[k])
}

/**
 * Records a save of the settings: `api.enabled`/`api.disabled` when the API switch moved, and
 * `settings.changed` naming every other changed setting. Nothing when nothing changed.
 */
export function auditSettingsChange(
  db: Database,
  who: Omit<AuditInput, 'action' | 'detail'>,
  before: StoreSettings,
  after: StoreSettings,
  clock: Clock,
): void {
  const changed = changedSettings(before, after)
  if (changed.includes('api_enabled')) {
    recordAudit(db, { ...who, action: after.api_enabled ? 'api.enabled' : 'api.disabled' }, clock)
  }
  const others = changed.filter((k) => k !== 'api_enabled')
  if (others.length > 0) {
    recordAudit(db, { ...who, action: 'settings.changed', detail: others.join(', ') }, clock)
  }
}

/** How a key is named in the log: `"Looker" (export, mida_sk_ab12)`. */
export function describeKey(key: { name: string; scope: string; prefix: string }): string {
  return `"${key.name}" (${key.scope}, ${key.prefix}…)`
}
