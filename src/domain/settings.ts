import { z } from 'zod'
import { type Database, type NoCopyResult, replaceLeavingNoCopy } from '../db/database.ts'
import { type Clock, nowMs } from './clock.ts'
import { InvalidInput } from './errors.ts'
import { isSealed } from './secrets.ts'

const TIME_ZONES = new Set(Intl.supportedValuesOf('timeZone'))
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'))

const BOOL_MESSAGE = 'must be true or false'
const bool = z
  .union([z.boolean(), z.string().trim().toLowerCase()], BOOL_MESSAGE)
  .pipe(
    z.union(
      [z.boolean(), z.enum(['true', 'false', 'on', 'off', '1', '0', 'yes', 'no'])],
      BOOL_MESSAGE,
    ),
  )
  .transform((v) => v === true || v === 'true' || v === 'on' || v === '1' || v === 'yes')

const emailOrEmpty = z.union([z.literal(''), z.email('must be an email address')])

/** True when `name` is an IANA time zone this runtime knows (`UTC` included). */
function isTimeZone(name: string): boolean {
  if (TIME_ZONES.has(name) || name === 'UTC') return true
  try {
    // Aliases such as US/Eastern are valid IANA names but not listed by supportedValuesOf.
    return Temporal.ZonedDateTime.from({ year: 2000, month: 1, day: 1, timeZone: name }) !== null
  } catch {
    return false
  }
}

const originList = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const origins = v
      .split(/[\s,]+/)
      .map((o) => o.trim())
      .filter(Boolean)
    for (const o of origins) {
      let ok = false
      try {
        const u = new URL(o)
        ok =
          (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o.replace(/\/$/, '')
      } catch {}
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          message: `"${o}" is not an origin like https://shop.example`,
        })
        return z.NEVER
      }
    }
    return origins.map((o) => o.replace(/\/$/, '')).join(',')
  })

const PORT_MESSAGE = 'must be a port from 1 to 65535'

/** Every writable setting with its validation; the UI, the CLI and the API share it. */
const WRITABLE = {
  store_name: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters'),
  store_email: emailOrEmpty,
  timezone: z
    .string()
    .trim()
    .refine(isTimeZone, 'must be an IANA time zone such as America/New_York'),
  currency: z
    .string()
    .trim()
    .toUpperCase()
    .refine((c) => CURRENCIES.has(c), 'must be an ISO 4217 code such as USD'),
  week_start: z.enum(['monday', 'sunday'], 'must be monday or sunday'),
  api_enabled: bool,
  sync_frequency: z.enum(['daily', 'weekly'], 'must be daily or weekly'),
  sync_hour: z.coerce
    .number('must be an hour from 0 to 23')
    .int('must be an hour from 0 to 23')
    .min(0, 'must be an hour from 0 to 23')
    .max(23, 'must be an hour from 0 to 23'),
  notify_success: bool,
  notify_failure: bool,
  notify_recipient: emailOrEmpty,
  shopify_webhook_secret: z.string().trim().max(500),
  allowed_origins: originList,
  smtp_host: z.string().trim().max(255),
  smtp_port: z.union(
    [
      z.literal(''),
      z.coerce.number(PORT_MESSAGE).int(PORT_MESSAGE).min(1, PORT_MESSAGE).max(65535, PORT_MESSAGE),
    ],
    PORT_MESSAGE,
  ),
  smtp_security: z.enum(['starttls', 'tls', 'none'], 'must be starttls, tls or none'),
  smtp_user: z.string().max(500),
  smtp_password: z.string().max(500),
  smtp_from: emailOrEmpty,
} as const

export type SettingKey = keyof typeof WRITABLE

/** Settings whose values are secrets: never printed, never sent back to a form. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  'smtp_password',
  'shopify_webhook_secret',
])

/** The names of all settings that `settings set` and the UI may change. */
export const SETTING_KEYS = Object.keys(WRITABLE) as SettingKey[]

/** A store's settings with defaults applied. */
export interface StoreSettings {
  store_name: string
  store_email: string
  timezone: string
  currency: string
  week_start: 'monday' | 'sunday'
  api_enabled: boolean
  sync_frequency: 'daily' | 'weekly'
  sync_hour: number
  notify_success: boolean
  notify_failure: boolean
  notify_recipient: string
  shopify_webhook_secret: string
  allowed_origins: string
  smtp_host: string
  smtp_port: number | ''
  smtp_security: 'starttls' | 'tls' | 'none'
  smtp_user: string
  smtp_password: string
  smtp_from: string
}

/** The machine's time zone, the natural default for a merchant running the binary locally. */
function localTimeZone(): string {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone
  return tz && isTimeZone(tz) ? tz : 'UTC'
}

export const DEFAULT_SETTINGS: StoreSettings = {
  store_name: 'My Store',
  store_email: '',
  timezone: 'UTC',
  currency: 'USD',
  week_start: 'monday',
  api_enabled: false,
  sync_frequency: 'daily',
  sync_hour: 1,
  notify_success: false,
  notify_failure: true,
  notify_recipient: '',
  shopify_webhook_secret: '',
  allowed_origins: '',
  smtp_host: '',
  smtp_port: '',
  smtp_security: 'starttls',
  smtp_user: '',
  smtp_password: '',
  smtp_from: '',
}

/** Settings that fail validation, with a message per field (for the UI) and one for the CLI. */
export class SettingsError extends InvalidInput {
  constructor(readonly fields: Record<string, string>) {
    super(
      Object.entries(fields)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; '),
    )
  }
}

function decode(key: SettingKey, stored: string): unknown {
  const parsed = WRITABLE[key].safeParse(stored)
  return parsed.success ? parsed.data : DEFAULT_SETTINGS[key]
}

function encode(value: unknown): string {
  return typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value)
}

/** Reads a store's settings, defaults filled in for what was never saved. */
export function readSettings(db: Database, storeId: number): Readonly<StoreSettings> {
  return db.cache.get(`settings:${storeId}`, () => Object.freeze(loadSettings(db, storeId)))
}

function loadSettings(db: Database, storeId: number): StoreSettings {
  const rows = db
    .query('SELECT key, value FROM store_settings WHERE store_id = ?')
    .all(storeId) as { key: string; value: string }[]
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS }
  for (const { key, value } of rows) {
    if (!Object.hasOwn(WRITABLE, key)) continue
    settings[key] = SECRET_SETTINGS.has(key)
      ? db.secrets.reveal(value)
      : decode(key as SettingKey, value)
  }
  return settings as unknown as StoreSettings
}

/**
 * Validates the changes (all of them, before writing any) and saves them in one transaction.
 * Unknown keys, read-only keys and bad values raise a SettingsError naming each field.
 */
export function updateSettings(
  db: Database,
  storeId: number,
  changes: Record<string, unknown>,
  clock: Clock,
): StoreSettings {
  // No prototype: a key named __proto__ must land in the errors, not replace their prototype.
  const errors: Record<string, string> = Object.create(null)
  const valid: [SettingKey, string][] = []
  for (const [key, raw] of Object.entries(changes)) {
    if (key === 'tracking_id') {
      errors[key] = 'is read-only'
      continue
    }
    if (!Object.hasOwn(WRITABLE, key)) {
      errors[key] = `is not a setting (known: ${SETTING_KEYS.join(', ')})`
      continue
    }
    const parsed = WRITABLE[key as SettingKey].safeParse(raw)
    if (!parsed.success) {
      errors[key] = parsed.error.issues[0]?.message ?? 'is not valid'
      continue
    }
    valid.push([key as SettingKey, encode(parsed.data)])
  }
  if (Object.keys(errors).length > 0) throw new SettingsError(errors)
  if (db.secrets.sealing) {
    // A secret saved before MIDA_SECRET_KEY was set is encrypted by the next save of any setting.
    const current = readSettings(db, storeId) as unknown as Record<string, string>
    for (const name of SECRET_SETTINGS) {
      const value = current[name] ?? ''
      if (!(name in changes) && value && !isSealed(value)) valid.push([name as SettingKey, value])
    }
  }
  const upsert = db.query(
    `INSERT INTO store_settings (store_id, key, value, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (store_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  )
  const at = nowMs(clock)
  db.transaction(() => {
    for (const [key, value] of valid) {
      upsert.run(storeId, key, SECRET_SETTINGS.has(key) ? db.secrets.seal(value) : value, at)
    }
  })()
  db.cache.invalidate()
  return readSettings(db, storeId)
}

/** A setting as a form sends it: booleans as `true`/`false`, numbers as digits. */
export function settingFormValue(settings: StoreSettings, key: SettingKey): string {
  return encode(settings[key])
}

/** What a Save from a page writes, and the fields it must not overwrite. */
export interface SettingsEdits {
  /** The fields the merchant changed on the page (the others keep their saved values). */
  changes: Record<string, string>
  /** Fields the merchant changed that were also changed elsewhere since the page loaded. */
  conflicts: Record<string, string>
}

/**
 * Compares a submitted form with the values the page was rendered with (`loaded`): a field whose
 * submitted value equals its loaded value was not touched and is left alone, so a change made
 * elsewhere meanwhile (the CLI, another tab) survives. A touched field whose saved value moved
 * away from `loaded` in the meantime is a conflict, unless both sides made the same change.
 * Secrets are never in `loaded` (the form never shows them): a non-empty one is a change.
 */
export function settingsEdits(
  current: StoreSettings,
  submitted: Record<string, string>,
  loaded: Record<string, unknown>,
): SettingsEdits {
  const changes: Record<string, string> = {}
  const conflicts: Record<string, string> = {}
  for (const [key, value] of Object.entries(submitted)) {
    const original = loaded[key]
    if (SECRET_SETTINGS.has(key) || !Object.hasOwn(WRITABLE, key) || typeof original !== 'string') {
      changes[key] = value
      continue
    }
    if (value === original) continue
    const saved = settingFormValue(current, key as SettingKey)
    if (saved === original) changes[key] = value
    else if (value !== saved) {
      conflicts[key] =
        `was changed elsewhere to "${saved}" while you edited it; Save again to replace it with yours`
    }
  }
  return { changes, conflicts }
}

/** Seeds the settings a new store should start with (its machine's time zone). */
export function initialiseSettings(db: Database, storeId: number, clock: Clock): void {
  const exists = db.query('SELECT 1 FROM store_settings WHERE store_id = ? LIMIT 1').get(storeId)
  if (!exists) updateSettings(db, storeId, { timezone: localTimeZone() }, clock)
}

/** The address notifications go to: the recipient, else the store email. */
export function notificationRecipient(settings: StoreSettings): string {
  return settings.notify_recipient || settings.store_email
}

/** Settings as printable strings, secrets replaced by whether they are set. */
export function displaySettings(
  settings: StoreSettings,
  trackingId: string,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const key of SETTING_KEYS) {
    const value = settings[key]
    out[key] = SECRET_SETTINGS.has(key) ? (value ? '(set)' : '') : value
  }
  out.tracking_id = trackingId
  return out
}

/**
 * With MIDA_SECRET_KEY bound (at start-up): seals every secret saved without it, in every store,
 * and leaves no copy of the plaintext in the database's files (`replaceLeavingNoCopy`, whose
 * VACUUM runs only when such a secret is found). Tells `log` the settings' names, never values.
 */
export function sealPlaintextSecrets(db: Database, log?: (line: string) => void): string[] {
  if (!db.secrets.sealing) return []
  const names = [...SECRET_SETTINGS]
  const find = db.query(
    `SELECT store_id, key, value FROM store_settings
     WHERE key IN (${names.map(() => '?').join(', ')}) AND value <> ''`,
  )
  const plaintext = () =>
    (find.all(...names) as { store_id: number; key: string; value: string }[]).filter(
      (row) => !isSealed(row.value),
    )
  const found = plaintext()
  if (found.length === 0) return []
  const namesOf = (rows: { key: string }[]) =>
    names.filter((name) => rows.some((row) => row.key === name)).join(' and ')
  const seal = db.query('UPDATE store_settings SET value = ? WHERE store_id = ? AND key = ?')
  let outcome: NoCopyResult<{ key: string }[]>
  try {
    outcome = replaceLeavingNoCopy(db, () =>
      db
        .transaction(() => {
          const rows = plaintext()
          for (const row of rows) seal.run(db.secrets.seal(row.value), row.store_id, row.key)
          return rows
        })
        .immediate(),
    )
  } catch (err) {
    // The VACUUM comes first: when it fails nothing is sealed yet, and the next start tries again.
    log?.(
      `Could not seal ${namesOf(found)}, saved before MIDA_SECRET_KEY was set: ${(err as Error).message}; they stay as saved, and the next start tries again`,
    )
    return []
  }
  db.cache.invalidate()
  const { result: sealed, walEmptied } = outcome
  if (sealed.length > 0) {
    log?.(
      `Sealed ${namesOf(sealed)}, saved before MIDA_SECRET_KEY was set, and rewrote the database so that no plaintext copy is left${
        walEmptied
          ? ''
          : ' (another process has it open: old copies stay in its WAL until that process closes it)'
      }`,
    )
  }
  return names.filter((name) => sealed.some((row) => row.key === name))
}
