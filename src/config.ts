import { existsSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'

/** The server's configuration, after flags, environment, `.env` and defaults are layered. */
export interface Config {
  port: number
  host: string
  dataDir: string
  baseUrl: string
  smtpUrl: string | undefined
  mailFrom: string
  adminEmail: string | undefined
  adminPassword: string | undefined
  /** Take the client address from `X-Forwarded-For` (only behind a reverse proxy you control). */
  trustProxy: boolean
}

/** A configuration value that failed validation; the message names the setting. */
export class ConfigError extends Error {}

interface Setting {
  key: keyof Config
  env: string
  flag?: string
  schema: z.ZodType
  allowed: string
}

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

const SETTINGS: Setting[] = [
  {
    key: 'port',
    env: 'PORT',
    flag: 'port',
    schema: z.coerce.number().int().min(0).max(65535),
    allowed: 'an integer from 0 to 65535 (0 picks a free port)',
  },
  {
    key: 'host',
    env: 'HOST',
    flag: 'host',
    schema: z.string().trim().min(1),
    allowed: 'an address such as 127.0.0.1 or 0.0.0.0',
  },
  {
    key: 'dataDir',
    env: 'MIDA_DATA_DIR',
    flag: 'data-dir',
    schema: z.string().trim().min(1),
    allowed: 'a directory path',
  },
  {
    key: 'baseUrl',
    env: 'MIDA_BASE_URL',
    flag: 'base-url',
    schema: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
    allowed: 'an http:// or https:// URL',
  },
  {
    key: 'smtpUrl',
    env: 'MIDA_SMTP_URL',
    schema: z.url({ protocol: /^smtps?$/ }),
    allowed: 'smtp://user:pass@host:587 or smtps://user:pass@host:465',
  },
  {
    key: 'mailFrom',
    env: 'MIDA_MAIL_FROM',
    schema: z.email(),
    allowed: 'an email address',
  },
  {
    key: 'adminEmail',
    env: 'MIDA_ADMIN_EMAIL',
    schema: z.email(),
    allowed: 'an email address',
  },
  {
    key: 'adminPassword',
    env: 'MIDA_ADMIN_PASSWORD',
    schema: z.string().min(8),
    allowed: 'a password of at least 8 characters',
  },
  {
    key: 'trustProxy',
    env: 'MIDA_TRUST_PROXY',
    flag: 'trust-proxy',
    schema: booleanText,
    allowed: 'true or false',
  },
]

/** The command-line flags that configure the server, for the CLI parser. */
export const CONFIG_FLAGS = SETTINGS.filter((s) => s.flag).map((s) => s.flag as string)

/** Reads KEY=VALUE lines of a `.env` file; quotes around a value are removed. */
export function parseDotenv(text: string): Record<string, string> {
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
  flags?: Record<string, string | boolean | undefined>
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
  const values: Partial<Record<keyof Config, unknown>> = {}
  for (const s of SETTINGS) {
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
        s.key === 'adminPassword' || s.key === 'smtpUrl' ? '(hidden)' : JSON.stringify(raw)
      throw new ConfigError(`Invalid ${origin}: expected ${s.allowed}, got ${shown}`)
    }
    values[s.key] = parsed.data
  }
  const port = (values.port as number | undefined) ?? 8080
  const host = (values.host as string | undefined) ?? '127.0.0.1'
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    port,
    host,
    dataDir: (values.dataDir as string | undefined) ?? './data',
    baseUrl: (values.baseUrl as string | undefined) ?? `http://${urlHost}:${port}`,
    smtpUrl: values.smtpUrl as string | undefined,
    mailFrom: (values.mailFrom as string | undefined) ?? `mida-export@${hostname()}`,
    adminEmail: values.adminEmail as string | undefined,
    adminPassword: values.adminPassword as string | undefined,
    trustProxy: (values.trustProxy as boolean | undefined) ?? false,
  }
}
