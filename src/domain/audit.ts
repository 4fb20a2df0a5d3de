import {
  countAuditEntryAgain,
  deleteAuditEntriesBefore,
  insertAuditEntry,
  latestAuditEntryFrom,
  recentAuditEntries,
} from '../db/audit.ts'
import type { Data, Queries } from '../db/data.ts'
import { type Clock, nowMs } from './clock.ts'
import type { StoreSettings } from './settings.ts'
import type { Store } from './stores.ts'

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
  'store.created': 'Store created',
  'store.deleted': 'Store deleted',
  'destination.added': 'Destination added',
  'destination.removed': 'Destination removed',
} as const

type AuditAction = keyof typeof AUDIT_ACTIONS

/** The actor of a command-line action. */
export const CLI_ACTOR = 'cli'
/** The actor of what start-up did from MIDA_ADMIN_EMAIL / MIDA_ADMIN_PASSWORD. */
export const ENV_ACTOR = 'environment'

/** One audit entry as written: never a secret value, only the names of what changed. */
export interface AuditInput {
  /** The store acted on; null for what belongs to no store (logins, admins, stores). */
  storeId: number | null
  /** An admin's email, `cli`, or `api key <prefix>`. */
  actor: string
  /** The client address, null for the command line. */
  address: string | null
  action: AuditAction
  detail?: string
}

/**
 * Who did an action, in which store, from where: what an audited action is given, so that it
 * writes its entry in its own transaction.
 */
export type AuditActor = Omit<AuditInput, 'action' | 'detail'>

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

/**
 * Appends one entry to the audit log. Given an action's transaction handle, the entry is part
 * of the action: both are written, or neither.
 */
export async function recordAudit(q: Queries, entry: AuditInput, clock: Clock): Promise<void> {
  await insertAuditEntry(q, {
    storeId: entry.storeId,
    at: nowMs(clock),
    actor: clip(entry.actor, 200),
    address: entry.address === null ? null : clip(entry.address, 100),
    action: entry.action,
    detail: clip(entry.detail ?? '', 500),
  })
}

/**
 * Records a repeatable event (a throttled login): when the address's latest entry is the same
 * action, begun less than `windowMs` ago (the throttle's window), it is counted there instead of
 * adding a row. Between two throttle windows an address always leaves another entry (its failed
 * logins), so each window of refusals is one row; its time and actor are the first refusal's.
 */
export async function recordRepeatedAudit(
  q: Queries,
  entry: AuditInput,
  windowMs: number,
  clock: Clock,
): Promise<void> {
  const at = nowMs(clock)
  await q.tx(async (q) => {
    const address = entry.address === null ? null : clip(entry.address, 100)
    const latest = await latestAuditEntryFrom(q, entry.storeId, address)
    if (latest && latest.action === entry.action && at - latest.at < windowMs) {
      await countAuditEntryAgain(q, latest.id)
    } else await recordAudit(q, entry, clock)
  })
}

/**
 * Deletes the audit entries older than `keepDays` (0: keeps them all); returns how many went.
 * Run by the server's background jobs.
 */
export async function pruneAuditLog(data: Data, keepDays: number, clock: Clock): Promise<number> {
  if (keepDays <= 0) return 0
  return deleteAuditEntriesBefore(data, nowMs(clock) - keepDays * 86_400_000)
}

/**
 * The store's most recent audit entries, newest first; with `serverWide` (an admin of every
 * store), the logins and the admin and store changes among them.
 */
export function recentAudit(
  data: Data,
  store: Store,
  limit = 50,
  serverWide = true,
): Promise<AuditEntry[]> {
  return recentAuditEntries(data, store.id, limit, serverWide)
}

/** The names of the settings whose values differ (secrets compared, never recorded). */
function changedSettings(before: StoreSettings, after: StoreSettings): string[] {
  return (Object.keys(after) as (keyof StoreSettings)[]).filter((k) => before[k] !== after[k])
}

/**
 * Records a save of the settings: `api.enabled`/`api.disabled` when the API switch moved, and
 * `settings.changed` naming every other changed setting. Nothing when nothing changed.
 */
export async function auditSettingsChange(
  q: Queries,
  who: AuditActor,
  before: StoreSettings,
  after: StoreSettings,
  clock: Clock,
): Promise<void> {
  const changed = changedSettings(before, after)
  if (changed.includes('api_enabled')) {
    const action = after.api_enabled ? 'api.enabled' : 'api.disabled'
    await recordAudit(q, { ...who, action }, clock)
  }
  const others = changed.filter((k) => k !== 'api_enabled')
  if (others.length > 0) {
    await recordAudit(q, { ...who, action: 'settings.changed', detail: others.join(', ') }, clock)
  }
}

/** How a key is named in the log: `"Looker" (export, mida_sk_ab12)`. */
export function describeKey(key: { name: string; scope: string; prefix: string }): string {
  return `"${key.name}" (${key.scope}, ${key.prefix}…)`
}
