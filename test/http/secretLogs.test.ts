import { afterEach, describe, expect, test } from 'bun:test'
import { createOrResetAdmin, startSession } from '../../src/domain/admins.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, createTestApp, type TestApp } from '../utils.ts'

/** Where the CLI finds the app's database: its directory, and on PostgreSQL runs its URL. */
const cliEnv = (t: TestApp): Record<string, string> => ({
  MIDA_DATA_DIR: t.dir,
  ...(t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}),
})

let t: TestApp
afterEach(() => t?.close())

/** Everything written to the console and to the process's stdout/stderr while `run` runs. */
async function captureConsole(run: () => Promise<void>): Promise<string> {
  const lines: string[] = []
  const saved = {
    log: console.log,
    info: console.info,
    warn: console.warn,
    error: console.error,
    debug: console.debug,
    out: process.stdout.write,
    err: process.stderr.write,
  }
  const record = (...args: unknown[]) => {
    lines.push(
      args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' '),
    )
  }
  console.log = console.info = console.warn = console.error = console.debug = record
  const write = (chunk: unknown) => {
    lines.push(String(chunk))
    return true
  }
  process.stdout.write = write as never
  process.stderr.write = write as never
  try {
    await run()
  } finally {
    Object.assign(console, {
      log: saved.log,
      info: saved.info,
      warn: saved.warn,
      error: saved.error,
      debug: saved.debug,
    })
    process.stdout.write = saved.out
    process.stderr.write = saved.err
  }
  return lines.join('\n')
}

describe('secrets never reach the logs', () => {
  test('a sync, a failing sync, a failed login, key creation and settings with secrets', async () => {
    const ADMIN_PASSWORD = 'admin-password-do-not-log'
    const SMTP_PASSWORD = 'smtp-password-do-not-log'
    const WEBHOOK_SECRET = 'webhook-secret-do-not-log'
    t = await createTestApp({ settings: { api_enabled: true } })
    const { admin } = await createOrResetAdmin(t.data, 'me@shop.example', ADMIN_PASSWORD, t.clock)
    const session = await startSession(t.data, admin.id, t.clock)
    const exportKey = (await createApiKey(t.data, t.store, 'reader', 'export', t.clock)).secret
    const secrets = [ADMIN_PASSWORD, SMTP_PASSWORD, WEBHOOK_SECRET, exportKey, session.token]
    const cliKeys: string[] = []

    const output = await captureConsole(async () => {
      const headers = { cookie: `mida_session=${session.token}`, 'x-csrf-token': session.csrfToken }
      const form = (fields: Record<string, string>) => ({
        method: 'POST',
        headers,
        body: new URLSearchParams(fields),
      })
      await t.request(
        '/settings',
        form({ smtp_password: SMTP_PASSWORD, shopify_webhook_secret: WEBHOOK_SECRET }),
      )
      const created = await t.request('/settings/keys', form({ name: 'new', scope: 'export' }))
      const shown = /mida_sk_[0-9A-Za-z]{38}/.exec(await created.text())?.[0]
      expect(shown).toBeDefined()
      secrets.push(shown!)
      const sync = (key: string, body = '') =>
        t.request('/apiv1/analytics/sync', {
          method: 'POST',
          headers: { 'x-mida-secret-key': key },
          body,
        })
      expect((await sync(exportKey)).status).toBe(200)
      const typo = `${exportKey.slice(0, -1)}${exportKey.endsWith('x') ? 'y' : 'x'}`
      expect((await sync(typo)).status).toBe(401)
      expect((await sync(exportKey, '{"date":"2999-01-01"}')).status).toBe(400)
      const login = await t.request('/login')
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!
      const failed = await t.request('/login', {
        method: 'POST',
        headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]! },
        body: new URLSearchParams({
          _csrf: csrf,
          email: 'me@shop.example',
          password: `${ADMIN_PASSWORD}-typo`,
        }),
      })
      expect(failed.status).toBe(401)
      // The CLI prints a new key once, on its own stdout (captured by io, not the console).
      const io = captureIo(t.dir, '', cliEnv(t))
      expect(await runCli(['keys', 'create', '--name', 'cli', '--json'], io)).toBe(0)
      cliKeys.push(JSON.parse(io.stdout()).key)
      expect(io.stderr()).toBe('')
      const shownSettings = captureIo(t.dir, '', cliEnv(t))
      expect(await runCli(['settings', '--json'], shownSettings)).toBe(0)
      expect(JSON.parse(shownSettings.stdout()).smtp_password).toBe('(set)')
      expect(shownSettings.stdout()).not.toContain(SMTP_PASSWORD)
    })
    for (const secret of [...secrets, ...cliKeys, `${ADMIN_PASSWORD}-typo`]) {
      expect([secret.slice(0, 12), output.includes(secret)]).toEqual([secret.slice(0, 12), false])
    }
    // The audit log names what changed, never the values.
    const audit = JSON.stringify(await t.data.all('SELECT * FROM audit_log'))
    for (const secret of secrets) expect(audit.includes(secret)).toBe(false)
  })
})
