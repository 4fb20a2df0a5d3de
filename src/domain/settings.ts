import { z } from 'zod'
import type { Data, Queries } from '../db/data.ts'
import { type NoCopyResult, replaceLeavingNoCopy } from '../db/database.ts'
import {
  hasSettings,
  replaceStoredValue,
  type SettingRow,
  saveSetting,
  settingRows,
  storedValuesOf,
} from '../db/settings.ts'
import { type Clock, nowMs } from './clock.ts'
import { InvalidInput } from './errors.ts'
import { isSealed, type Secrets } from './secrets.ts'
import type { Store } from './stores.ts'

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
  notify_attach_csv: bool,
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

/** A store's settings with defaults applied: what the schema of every setting gives. */
export type StoreSettings = z.output<z.ZodObject<typeof WRITABLE>>

/** The machine's time zone, the natural default for a merchant running the binary locally. */
export function localTimeZone(): string {
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
  notify_attach_csv: false,
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

function settingsKey(storeId: number): string {
  return `settings:${storeId}`
}

/**
 * Reads a store's settings, defaults filled in for what was never saved; cached until a change.
 * Only the store's id is needed (the outbox sender knows a row's store by its id).
 */
export function readSettings(
  data: Data,
  store: Pick<Store, 'id'>,
): Promise<Readonly<StoreSettings>> {
  return data.cache.load(settingsKey(store.id), () => loadSettings(data, data.secrets, store.id))
}

/**
 * The settings when the read cache holds them, else undefined: the hot paths (the sync API, the
 * tracker) answer in the same turn with them and await readSettings only after a change.
 */
export function cachedSettings(
  data: Data,
  store: Pick<Store, 'id'>,
): Readonly<StoreSettings> | undefined {
  return data.cache.peek<Readonly<StoreSettings>>(settingsKey(store.id))
}

async function loadSettings(
  q: Queries,
  secrets: Secrets,
  storeId: number,
): Promise<Readonly<StoreSettings>> {
  return settingsFromRows(await settingRows(q, storeId), secrets)
}

function settingsFromRows(rows: SettingRow[], secrets: Secrets): Readonly<StoreSettings> {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS }
  for (const { key, value } of rows) {
    if (!Object.hasOwn(WRITABLE, key)) continue
    settings[key] = SECRET_SETTINGS.has(key)
      ? secrets.reveal(value)
      : decode(key as SettingKey, value)
  }
  return Object.freeze(settings as StoreSettings)
}

/** Validates every change before any is written; raises a SettingsError naming each bad field. */
function validChanges(changes: Record<string, unknown>): [SettingKey, string][] {
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
  return valid
}

/**
 * The secrets saved before MIDA_SECRET_KEY was set that a save of `changes` leaves alone: the
 * next save of any setting encrypts them too.
 */
function secretsToSeal(
  current: StoreSettings,
  changes: Record<string, unknown>,
  secrets: Secrets,
): [SettingKey, string][] {
  if (!secrets.sealing) return []
  const found: [SettingKey, string][] = []
  for (const name of SECRET_SETTINGS) {
    const value = String(current[name as SettingKey] ?? '')
    if (!(name in changes) && value && !isSealed(value)) found.push([name as SettingKey, value])
  }
  return found
}

/** The stored text of a setting's value: secrets sealed. */
function stored(key: SettingKey, value: string, secrets: Secrets): string {
  return SECRET_SETTINGS.has(key) ? secrets.seal(value) : value
}

/** A save of the settings as it happened: the settings before it and after it. */
interface SettingsChange {
  before: Readonly<StoreSettings>
  after: Readonly<StoreSettings>
}

/** Writes the audit entry of a save, inside the save's transaction (through `q`). */
export type SettingsAudit = (q: Queries, change: SettingsChange) => Promise<void>

/**
 * Validates the changes (all of them, before writing any) and saves them in one transaction, in
 * which `audit` (when given) records the change. Unknown keys, read-only keys and bad values
 * raise a SettingsError naming each field.
 */
export async function updateSettings(
  data: Data,
  store: Store,
  changes: Record<string, unknown>,
  clock: Clock,
  audit?: SettingsAudit,
): Promise<Readonly<StoreSettings>> {
  const valid = validChanges(changes)
  const after = await data.tx(async (q) => {
    const change = await saveSettings(q, data.secrets, store, valid, changes, clock)
    await audit?.(q, change)
    return change.after
  })
  data.cache.invalidate()
  return after
}

/**
 * Validates and saves `changes` through `q`, inside the caller's transaction (a new store's first
 * settings, written with the store); the caller invalidates the read cache after it.
 */
export async function saveSettingsWith(
  q: Queries,
  secrets: Secrets,
  store: Store,
  changes: Record<string, unknown>,
  clock: Clock,
): Promise<Readonly<StoreSettings>> {
  return (await saveSettings(q, secrets, store, validChanges(changes), changes, clock)).after
}

/**
 * The writes of a save, through `q` inside the caller's transaction (the caller invalidates the
 * read cache after it): the settings before and after.
 */
async function saveSettings(
  q: Queries,
  secrets: Secrets,
  store: Store,
  valid: [SettingKey, string][],
  changes: Record<string, unknown>,
  clock: Clock,
): Promise<SettingsChange> {
  const before = await loadSettings(q, secrets, store.id)
  const at = nowMs(clock)
  for (const [key, value] of [...valid, ...secretsToSeal(before, changes, secrets)]) {
    await saveSetting(q, store.id, key, stored(key, value, secrets), at)
  }
  return { before, after: await loadSettings(q, secrets, store.id) }
}

/**
 * The settings as they would be with `changes` saved (validated exactly like a Save, raising
 * SettingsError), without saving anything: "Send test email" tries what the form holds.
 */
export async function previewSettings(
  data: Data,
  store: Store,
  changes: Record<string, unknown>,
  clock: Clock,
): Promise<Readonly<StoreSettings>> {
  const valid = validChanges(changes)
  let preview: Readonly<StoreSettings> | undefined
  try {
    await data.tx(async (q) => {
      preview = (await saveSettings(q, data.secrets, store, valid, changes, clock)).after
      throw new Rollback()
    })
  } catch (err) {
    if (!(err instanceof Rollback)) throw err
  }
  return preview as Readonly<StoreSettings>
}

class Rollback extends Error {}

/** A setting as a form sends it: booleans as `true`/`false`, numbers as digits. */
export function settingFormValue(settings: StoreSettings, key: SettingKey): string {
  return encode(settings[key])
}

/** Seeds the settings a new store should start with (its machine's time zone). */
export async function initialiseSettings(data: Data, store: Store, clock: Clock): Promise<void> {
  if (!(await hasSettings(data, store.id))) {
    await updateSettings(data, store, { timezone: localTimeZone() }, clock)
  }
}

/** The address notifications go to: the recipient, else the store email. */
export function notificationRecipient(settings: StoreSettings): string {
  return settings.notify_recipient || settings.store_email
}

/**
 * With MIDA_SECRET_KEY bound (at start-up): seals every secret saved without it, in every store,
 * and leaves no copy of the plaintext in the database's files (`replaceLeavingNoCopy`, whose
 * VACUUM runs only when such a secret is found). Tells `log` the settings' names, never values.
 */
export async function sealPlaintextSecrets(
  data: Data,
  log?: (line: string) => void,
): Promise<string[]> {
  if (!data.secrets.sealing) return []
  const names = [...SECRET_SETTINGS]
  const plaintext = async (q: Queries) =>
    (await storedValuesOf(q, names)).filter((row) => !isSealed(row.value))
  const found = await plaintext(data)
  if (found.length === 0) return []
  const namesOf = (rows: { key: string }[]) =>
    names.filter((name) => rows.some((row) => row.key === name)).join(' and ')
  let outcome: NoCopyResult<{ key: string }[]>
  try {
    outcome = await replaceLeavingNoCopy(data, () =>
      data.tx(async (q) => {
        const rows = await plaintext(q)
        for (const row of rows) {
          await replaceStoredValue(q, row.store_id, row.key, data.secrets.seal(row.value))
        }
        return rows
      }),
    )
  } catch (err) {
    // The VACUUM comes first: when it fails nothing is sealed yet, and the next start tries again.
    log?.(
      `Could not seal ${namesOf(found)}, saved before MIDA_SECRET_KEY was set: ${(err as Error).message}; they stay as saved, and the next start tries again`,
    )
    return []
  }
  data.cache.invalidate()
  const { result: sealed, walEmptied, leftover } = outcome
  if (sealed.length > 0) {
    log?.(
      `Sealed ${namesOf(sealed)}, saved before MIDA_SECRET_KEY was set, and rewrote the database so that no plaintext copy is left${
        leftover
          ? ` in its tables (${leftover})`
          : walEmptied
            ? ''
            : ' (another process has it open: old copies stay in its WAL until that process closes it)'
      }`,
    )
  }
  return names.filter((name) => sealed.some((row) => row.key === name))
}
