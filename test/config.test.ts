// The configuration: every value typed by its schema, layered flag > environment > .env > default.
import { afterEach, describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config.ts'
import { tempDir } from './utils.ts'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function dir(dotenv?: string): string {
  const t = tempDir('mida-config-')
  cleanups.push(t.cleanup)
  if (dotenv !== undefined) writeFileSync(join(t.dir, '.env'), dotenv)
  return t.dir
}

describe('loadConfig', () => {
  test('defaults for what is not given, nothing for what has none', () => {
    const config = loadConfig({ env: {}, cwd: dir() })
    expect({ ...config, mailFrom: undefined }).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './data',
      databaseUrl: undefined,
      baseUrl: 'http://127.0.0.1:8080',
      smtpUrl: undefined,
      mailFrom: undefined,
      adminEmail: undefined,
      adminPassword: undefined,
      trustProxy: 0,
      keyAttempts: { max: 10, windowMs: 900_000 },
      loginAttempts: { max: 5, windowMs: 900_000 },
      collectRate: { max: 120, windowMs: 60_000 },
      collectIpRate: { max: 600, windowMs: 60_000 },
      secretKey: undefined,
      backupKeep: 0,
      auditKeepDays: 365,
      allowPrivateDestinations: false,
    })
    expect(config.mailFrom).toStartWith('mida-export@')
  })

  test('each value parsed by its schema, a flag over the environment over .env', () => {
    const config = loadConfig({
      flags: { port: '9090', 'trust-proxy': 'true' },
      env: { PORT: '7070', HOST: '::1', MIDA_KEY_ATTEMPTS: '3/1h', MIDA_BACKUP_KEEP: '7' },
      cwd: dir('MIDA_BASE_URL=https://stats.shop.example/\nHOST=0.0.0.0\n'),
    })
    expect(config).toMatchObject({
      port: 9090,
      host: '::1',
      baseUrl: 'https://stats.shop.example',
      trustProxy: 1,
      keyAttempts: { max: 3, windowMs: 3_600_000 },
      backupKeep: 7,
    })
  })

  test('a bad value names where it came from and what is allowed; secrets are not echoed', () => {
    expect(() => loadConfig({ env: { PORT: 'eighty' }, cwd: dir() })).toThrow(
      new ConfigError(
        'Invalid PORT: expected an integer from 0 to 65535 (0 picks a free port), got "eighty"',
      ),
    )
    expect(() => loadConfig({ env: { MIDA_SECRET_KEY: 'short' }, cwd: dir() })).toThrow(
      new ConfigError(
        'Invalid MIDA_SECRET_KEY: expected a random string of at least 16 characters (e.g. openssl rand -base64 32), got (hidden)',
      ),
    )
  })

  test('MIDA_ALLOW_PRIVATE_DESTINATIONS: environment only, true or false', () => {
    for (const [text, on] of [
      ['true', true],
      ['1', true],
      ['false', false],
    ] as const) {
      const env = { MIDA_ALLOW_PRIVATE_DESTINATIONS: text }
      expect(loadConfig({ env, cwd: dir() }).allowPrivateDestinations).toBe(on)
    }
    expect(
      loadConfig({ env: {}, cwd: dir('MIDA_ALLOW_PRIVATE_DESTINATIONS=true\n') })
        .allowPrivateDestinations,
    ).toBe(true)
    expect(() =>
      loadConfig({ env: { MIDA_ALLOW_PRIVATE_DESTINATIONS: 'sometimes' }, cwd: dir() }),
    ).toThrow(
      new ConfigError(
        'Invalid MIDA_ALLOW_PRIVATE_DESTINATIONS: expected true or false, got "sometimes"',
      ),
    )
  })
})
