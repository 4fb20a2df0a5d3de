import { existsSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'

/** At most `max` events per `windowMs`. */
interface RateLimit {
  max: number
  windowMs: number
}

/** A configuration value that failed validation; the message names the setting. */
export class ConfigError extends Error {}

/** Where a value comes from (an environment variable, maybe a flag), its schema and its words. */
interface Field {
  env: string
  flag?: string
  schema: z.ZodType
  /** What is allowed, for the error naming a bad value. */
  allowed: string
}

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

/** `false`, `true` (one proxy) or how many proxies are in front (`1` is `true`, `0` is `false`). */
const proxyCount = z
  .string()
  .trim()
  .regex(/^\d{1,2}$/)
  .transform(Number)
  .or(booleanText.transform((on) => (on ? 1 : 0)))

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 }

/** `N` or `N/DURATION` (`10/15m`, `120/1m`, `5/1h`, `30/45s`); a bare N keeps the default window. */
function rateLimit(defaultWindowMs: number) {
  return z
    .string()
    .trim()
    .regex(/^\d{1,7}(\/\d{1,5}[smh])?$/)
    .transform((text): RateLimit => {
      const [count, window] = text.split('/')
      const unit = window ? (DURATION_UNITS[window.slice(-1)] as number) : 0
      return {
        max: Number(count),
        windowMs: window ? Number(window.slice(0, -1)) * unit : defaultWindowMs,
      }
    })
    .refine((r) => r.max >= 1 && r.windowMs >= 1000)
}

/** How long the audit log keeps an entry unless MIDA_AUDIT_KEEP_DAYS says otherwise. */
export const DEFAULT_AUDIT_KEEP_DAYS = 365

/** The defaults of the abuse limits (documented in the README's "Security and reliability"). */
const DEFAULT_LIMITS = {
  keyAttempts: { max: 10, windowMs: 15 * 60_000 },
  loginAttempts: { max: 5, windowMs: 15 * 60_000 },
  collectRate: { max: 120, windowMs: 60_000 },
  collectIpRate: { max: 600, windowMs: 60_000 },
} as const satisfies Record<string, RateLimit>

/** Every configuration value, by its name in Config. */
const FIELDS = {
  port: {
    env: 'PORT',
    flag: 'port',
    schema: z.coerce.number().int().min(0).max(65535),
    allowed: 'an integer from 0 to 65535 (0 picks a free port)',
  },
  host: {
    env: 'HOST',
    flag: 'host',
    schema: z.string().trim().min(1),
    allowed: 'an address such as 127.0.0.1 or 0.0.0.0',
  },
  dataDir: {
    env: 'MIDA_DATA_DIR',
    flag: 'data-dir',
    schema: z.string().trim().min(1),
    allowed: 'a directory path',
  },
  /** PostgreSQL instead of the SQLite file in the data directory (DESIGN.md "Storage engines"). */
  databaseUrl: {
    env: 'MIDA_DATABASE_URL',
    flag: 'database-url',
    schema: z.url({ protocol: /^postgres(ql)?$/ }),
    allowed: 'a postgres://user:password@host:5432/database URL',
  },
  baseUrl: {
    env: 'MIDA_BASE_URL',
    flag: 'base-url',
    schema: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
    allowed: 'an http:// or https:// URL',
  },
  smtpUrl: {
    env: 'MIDA_SMTP_URL',
    schema: z.url({ protocol: /^smtps?$/ }),
    allowed: 'smtp://user:pass@host:587 or smtps://user:pass@host:465',
  },
  mailFrom: {
    env: 'MIDA_MAIL_FROM',
    schema: z.email(),
    allowed: 'an email address',
  },
  adminEmail: {
    env: 'MIDA_ADMIN_EMAIL',
    schema: z.email(),
    allowed: 'an email address',
  },
  adminPassword: {
    env: 'MIDA_ADMIN_PASSWORD',
    schema: z.string().min(8),
    allowed: 'a password of at least 8 characters',
  },
  /**
   * Reverse proxies in front of the server (0: none). With N, the client address is the Nth
   * `X-Forwarded-For` entry from the right: the one the proxy the client connected to appended.
   */
  trustProxy: {
    env: 'MIDA_TRUST_PROXY',
    flag: 'trust-proxy',
    schema: proxyCount,
    allowed: 'false, true (one proxy) or the number of proxies in front, such as 2',
  },
  /** Failed API-key attempts allowed per client address and window (sync and import). */
  keyAttempts: {
    env: 'MIDA_KEY_ATTEMPTS',
    schema: rateLimit(DEFAULT_LIMITS.keyAttempts.windowMs),
    allowed: 'a count, optionally per window, such as 10 or 10/15m (s, m or h)',
  },
  /** Failed logins allowed per client address and window. */
  loginAttempts: {
    env: 'MIDA_LOGIN_ATTEMPTS',
    schema: rateLimit(DEFAULT_LIMITS.loginAttempts.windowMs),
    allowed: 'a count, optionally per window, such as 5 or 5/15m (s, m or h)',
  },
  /** Tracker events accepted per visitor and window (collect). */
  collectRate: {
    env: 'MIDA_COLLECT_RATE',
    schema: rateLimit(DEFAULT_LIMITS.collectRate.windowMs),
    allowed: 'a count, optionally per window, such as 120 or 120/1m (s, m or h)',
  },
  /** Tracker events accepted per client address and window (collect). */
  collectIpRate: {
    env: 'MIDA_COLLECT_IP_RATE',
    schema: rateLimit(DEFAULT_LIMITS.collectIpRate.windowMs),
    allowed: 'a count, optionally per window, such as 600 or 600/1m (s, m or h)',
  },
  /** Encrypts the SMTP password and the webhook secret at rest when set (MIDA_SECRET_KEY). */
  secretKey: {
    env: 'MIDA_SECRET_KEY',
    schema: z.string().trim().min(16),
    allowed: 'a random string of at least 16 characters (e.g. openssl rand -base64 32)',
  },
  /** Daily backups `serve` keeps in `DATA_DIR/backups` (MIDA_BACKUP_KEEP; 0: no daily backup). */
  backupKeep: {
    env: 'MIDA_BACKUP_KEEP',
    schema: z.coerce.number().int().min(0).max(3650),
    allowed: 'how many daily backups to keep, 0 to 3650 (0: no daily backup)',
  },
  /** Days the audit log keeps an entry (MIDA_AUDIT_KEEP_DAYS; 0: forever). */
  auditKeepDays: {
    env: 'MIDA_AUDIT_KEEP_DAYS',
    schema: z.coerce.number().int().min(0).max(36500),
    allowed: 'how many days to keep audit log entries, 0 to 36500 (0: forever)',
  },
  /**
   * Lets destinations (webhook, Slack) reach loopback, private and link-local addresses, and
   * plain http:// URLs (MIDA_ALLOW_PRIVATE_DESTINATIONS): tests and LAN receivers.
   */
  allowPrivateDestinations: {
    env: 'MIDA_ALLOW_PRIVATE_DESTINATIONS',
    schema: booleanText,
    allowed: 'true or false',
  },
} satisfies Record<string, Field>

type Values = { [K in keyof typeof FIELDS]: z.output<(typeof FIELDS)[K]['schema']> }

/** The values that stay undefined when not given (no default). */
type Unset = 'smtpUrl' | 'adminEmail' | 'adminPassword' | 'secretKey' | 'databaseUrl'

/**
 * The server's configuration, after flags, environment, `.env` and defaults are layered: each
 * value as its schema in FIELDS gives it.
 */
export type Config = Omit<Values, Unset> & { [K in Unset]: Values[K] | undefined }

/** The command-line flags that configure the server, for the CLI parser. */
export const CONFIG_FLAGS = Object.values(FIELDS).flatMap((f: Field) => (f.flag ? [f.flag] : []))

/** Reads KEY=VALUE lines of a `.env` file; quotes around a value are removed. */
function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (!m) continue
    let value = m[2] ?? ''
    const quoted = /^(['"])(.*)\1$/.exec(value)
    if (quoted) value = quoted[2] ?? ''
    else value = value.replace(/\s+#.*$/, '')
    out[m[1] as string] = value
  }
  return out
}

export interface ConfigSources {
  flags?: Record<string, string | boolean | string[] | undefined>
  env?: Record<string, string | undefined>
  /** Directory holding the optional `.env` file. */
  cwd?: string
}

/** Layers flag > environment > `.env` > default, validates every value, and fills the defaults. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const flags = sources.flags ?? {}
  const env = sources.env ?? process.env
  const dotenvPath = join(sources.cwd ?? process.cwd(), '.env')
  const dotenv = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath, 'utf8')) : {}
  const values: Partial<Values> = {}
  for (const [key, s] of Object.entries(FIELDS) as [keyof Values, Field][]) {
    const fromFlag = s.flag ? flags[s.flag] : undefined
    let raw: string | undefined
    let origin: string
    if (fromFlag !== undefined) {
      raw = String(fromFlag)
      origin = `--${s.flag}`
    } else if (env[s.env] !== undefined && env[s.env] !== '') {
      raw = env[s.env]
      origin = s.env
    } else if (dotenv[s.env] !== undefined && dotenv[s.env] !== '') {
      raw = dotenv[s.env]
      origin = `${s.env} in .env`
    } else continue
    const parsed = s.schema.safeParse(raw)
    if (!parsed.success) {
      const shown =
        key === 'adminPassword' || key === 'smtpUrl' || key === 'secretKey' || key === 'databaseUrl'
          ? '(hidden)'
          : JSON.stringify(raw)
      throw new ConfigError(`Invalid ${origin}: expected ${s.allowed}, got ${shown}`)
    }
    Object.assign(values, { [key]: parsed.data })
  }
  const port = values.port ?? 8080
  const host = values.host ?? '127.0.0.1'
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    port,
    host,
    dataDir: values.dataDir ?? './data',
    databaseUrl: values.databaseUrl,
    baseUrl: values.baseUrl ?? `http://${urlHost}:${port}`,
    smtpUrl: values.smtpUrl,
    mailFrom: values.mailFrom ?? `mida-export@${hostname()}`,
    adminEmail: values.adminEmail,
    adminPassword: values.adminPassword,
    trustProxy: values.trustProxy ?? 0,
    keyAttempts: values.keyAttempts ?? { ...DEFAULT_LIMITS.keyAttempts },
    loginAttempts: values.loginAttempts ?? { ...DEFAULT_LIMITS.loginAttempts },
    collectRate: values.collectRate ?? { ...DEFAULT_LIMITS.collectRate },
    collectIpRate: values.collectIpRate ?? { ...DEFAULT_LIMITS.collectIpRate },
    secretKey: values.secretKey,
    backupKeep: values.backupKeep ?? 0,
    auditKeepDays: values.auditKeepDays ?? DEFAULT_AUDIT_KEEP_DAYS,
    allowPrivateDestinations: values.allowPrivateDestinations ?? false,
  }
}
