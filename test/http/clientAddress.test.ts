// The client address behind reverse proxies (MIDA_TRUST_PROXY), over a real socket: the entry the
// trusted proxy the client connected to appended counts, never what the client wrote itself.
import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { parse } from '../../src/cli/args.ts'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { createOrResetAdmin } from '../../src/domain/admins.ts'
import { recentAudit } from '../../src/domain/audit.ts'
import { createApiKey } from '../../src/domain/keys.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, createTestApp, listen, type TestApp, tempDir } from '../utils.ts'

// Each login hashes a password (a few hundred ms on a busy machine).
setDefaultTimeout(30_000)

let t: TestApp | undefined
let server: { url: string; stop: () => Promise<void> } | undefined
afterEach(async () => {
  await server?.stop()
  await t?.core.callLog.flush()
  t?.close()
  server = undefined
  t = undefined
})

/** A server on a free port with an admin, configured by `env`. */
async function start(env: Record<string, string>) {
  t = await createTestApp({ env, settings: { api_enabled: true } })
  await createOrResetAdmin(t.data, 'me@shop.example', 'a good password', t.clock)
  server = listen(t.app)
  return { t, url: server.url }
}

/** A wrong password through the login form, with the X-Forwarded-For header given (if any). */
async function wrongLogin(url: string, forwardedFor?: string): Promise<number> {
  const page = await fetch(`${url}/login`)
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: {
      cookie: page.headers.get('set-cookie')!.split(';')[0]!,
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
    },
    body: new URLSearchParams({ _csrf: csrf, email: 'me@shop.example', password: 'wrong' }),
    redirect: 'manual',
  })
  await res.arrayBuffer()
  return res.status
}

/** The addresses of the audit log's failed logins, oldest first. */
const auditedAddresses = async (app: TestApp) =>
  (await recentAudit(app.data, app.store))
    .reverse()
    .filter((e) => e.action === 'login.failed')
    .map((e) => e.address)

describe('MIDA_TRUST_PROXY and --trust-proxy', () => {
  test('false, true, yes, no or a number of proxies; 1 is true and 0 is false', () => {
    const proxies = (value: string) =>
      loadConfig({ env: { MIDA_TRUST_PROXY: value }, cwd: '/nonexistent' }).trustProxy
    expect(['false', 'true', 'TRUE', 'yes', 'no', '0', '1', '2', ' 3 '].map(proxies)).toEqual([
      0, 1, 1, 1, 0, 0, 1, 2, 3,
    ])
    expect(loadConfig({ env: {}, cwd: '/nonexistent' }).trustProxy).toBe(0)
    for (const bad of ['maybe', '-1', '1.5', '100', '2 proxies']) {
      expect(() => proxies(bad)).toThrow(
        new ConfigError(
          `Invalid MIDA_TRUST_PROXY: expected false, true (one proxy) or the number of proxies in front, such as 2, got ${JSON.stringify(bad)}`,
        ),
      )
    }
  })

  test('the flag alone is one proxy; --trust-proxy=N and --trust-proxy N give the count', () => {
    const proxies = (...args: string[]) =>
      loadConfig({ flags: parse(args).values, env: {}, cwd: '/nonexistent' }).trustProxy
    expect(proxies('--trust-proxy')).toBe(1)
    expect(proxies('--trust-proxy', '--port', '9000')).toBe(1)
    expect(proxies('--trust-proxy=2')).toBe(2)
    expect(proxies('--trust-proxy', '3')).toBe(3)
    expect(proxies('--trust-proxy=false')).toBe(0)
    expect(proxies('--port', '9000')).toBe(0)
    expect(parse(['--trust-proxy', 'file.ndjson']).positionals).toEqual(['file.ndjson'])
  })

  test('a bad value stops serve before it starts, naming the setting', async () => {
    const { dir, cleanup } = tempDir()
    const flagged = captureIo(dir)
    expect(await runCli(['serve', '--trust-proxy=two', '--data-dir', dir], flagged)).toBe(1)
    expect(flagged.stderr()).toBe(
      'Error: Invalid --trust-proxy: expected false, true (one proxy) or the number of proxies in front, such as 2, got "two"\n',
    )
    const fromEnv = captureIo(dir, '', { MIDA_TRUST_PROXY: 'on' })
    expect(await runCli(['serve', '--data-dir', dir], fromEnv)).toBe(1)
    expect(fromEnv.stderr()).toBe(
      'Error: Invalid MIDA_TRUST_PROXY: expected false, true (one proxy) or the number of proxies in front, such as 2, got "on"\n',
    )
    cleanup()
  })
})

describe('behind one proxy (MIDA_TRUST_PROXY=true), as nginx or Caddy forward', () => {
  test('rotating the entries a client sends itself does not escape the login throttle', async () => {
    const { t, url } = await start({ MIDA_TRUST_PROXY: 'true' })
    const statuses: number[] = []
    // $proxy_add_x_forwarded_for: whatever the client sent, then the address the proxy saw.
    for (let i = 1; i <= 7; i++)
      statuses.push(await wrongLogin(url, `203.0.113.${i}, 198.51.100.7`))
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
    expect(await auditedAddresses(t)).toEqual(Array(5).fill('198.51.100.7'))
    // Another address, as the proxy saw it, has its own allowance.
    expect(await wrongLogin(url, '198.51.100.8')).toBe(401)
  })

  test('nor the API-key throttle (sync)', async () => {
    const { t, url } = await start({ MIDA_TRUST_PROXY: 'true' })
    const good = (await createApiKey(t.data, t.store, 'good', 'export', t.clock)).secret
    const sync = async (key: string, forwardedFor: string) => {
      const res = await fetch(`${url}/apiv1/analytics/sync`, {
        method: 'POST',
        headers: { 'x-mida-secret-key': key, 'x-forwarded-for': forwardedFor },
      })
      await res.arrayBuffer()
      return res.status
    }
    const statuses: number[] = []
    for (let i = 1; i <= 11; i++)
      statuses.push(await sync('mida_sk_wrong', `10.0.0.${i}, 198.51.100.7`))
    expect(statuses).toEqual([...Array(10).fill(401), 429])
    expect(await sync(good, '192.0.2.99, 198.51.100.7')).toBe(429)
    expect(await sync(good, '198.51.100.8')).toBe(200)
  })

  test('what is not an IP address is never taken as one: the socket address is', async () => {
    const { t, url } = await start({ MIDA_TRUST_PROXY: 'true' })
    expect(await wrongLogin(url, 'admin logged in from the moon')).toBe(401)
    expect(await wrongLogin(url, '198.51.100.7, <script>')).toBe(401)
    expect(await wrongLogin(url, '198.51.100.7:4711')).toBe(401)
    expect(await wrongLogin(url, '')).toBe(401)
    expect(await wrongLogin(url)).toBe(401)
    expect(await wrongLogin(url, '198.51.100.7, 2001:db8::7')).toBe(401)
    expect(await auditedAddresses(t)).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
      '2001:db8::7',
    ])
  })
})

describe('behind a chain of proxies (MIDA_TRUST_PROXY=2: a CDN, then nginx)', () => {
  test('the second entry from the right, the one the CDN appended; too few entries: the socket', async () => {
    const { t, url } = await start({ MIDA_TRUST_PROXY: '2' })
    // client's own, the client as the CDN saw it, the CDN as nginx saw it
    expect(await wrongLogin(url, '10.9.9.9, 203.0.113.5, 198.51.100.20')).toBe(401)
    expect(await wrongLogin(url, '203.0.113.6, 198.51.100.20')).toBe(401)
    expect(await wrongLogin(url, '198.51.100.20')).toBe(401)
    expect(await auditedAddresses(t)).toEqual(['203.0.113.5', '203.0.113.6', '127.0.0.1'])
  })
})

describe('without a proxy (the default)', () => {
  test('X-Forwarded-For is ignored: the socket address counts', async () => {
    const { t, url } = await start({})
    for (let i = 1; i <= 6; i++) await wrongLogin(url, `203.0.113.${i}`)
    expect(await auditedAddresses(t)).toEqual(Array(5).fill('127.0.0.1'))
    expect(await wrongLogin(url, '198.51.100.8')).toBe(429)
  })
})
