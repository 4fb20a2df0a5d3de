import { afterEach, beforeEach, expect, test } from 'bun:test'
import { createFirstAdmin, hashPassword, issueSetupToken } from '../../src/domain/admins.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, createTestApp, listen, type TestApp } from '../utils.ts'

/** Where the CLI finds the app's database: its directory, and on PostgreSQL runs its URL. */
const cliEnv = (t: TestApp): Record<string, string> => ({
  MIDA_DATA_DIR: t.dir,
  ...(t.config.databaseUrl ? { MIDA_DATABASE_URL: t.config.databaseUrl } : {}),
})

// The login email is compared without case, over a real server: setup, the CLI and the login form
// all trim and lowercase it, whatever the person typed.

let t: TestApp
let server: { url: string; stop: () => Promise<void> }

beforeEach(async () => {
  t = await createTestApp()
  server = listen(t.app)
})
afterEach(async () => {
  await server.stop()
  t.close()
})

/** Posts the login form as typed; returns the status and where it leads. */
async function login(email: string, password: string) {
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: 'mida_login_csrf=form-token',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ _csrf: 'form-token', email, password, next: '/settings' }),
  })
  await res.arrayBuffer()
  const session = res.headers
    .getSetCookie()
    .some((c) => c.startsWith('mida_session=') && !c.startsWith('mida_session=;'))
  return { status: res.status, location: res.headers.get('location'), session }
}

const LOGGED_IN = { status: 303, location: '/settings', session: true }

test('the admin created by the setup link as me@shop.example logs in as " Me@Shop.Example "', async () => {
  const { token } = await issueSetupToken(t.data, t.clock)
  const admin = await createFirstAdmin(t.data, token, 'me@shop.example', 'a good password', t.clock)
  for (const typed of ['me@shop.example', 'Me@Shop.Example', ' ME@SHOP.EXAMPLE ']) {
    expect(await login(typed, 'a good password')).toEqual(LOGGED_IN)
  }
  expect(await login('Me@Shop.Example', 'a wrong password')).toMatchObject({ status: 401 })
  const logins = await t.data.all<{ actor: string }>(
    `SELECT actor FROM audit_log WHERE action = 'login' ORDER BY id`,
  )
  expect(logins.map((r) => r.actor)).toEqual(Array(3).fill(admin.email))
})

test('an admin created with capitals from the command line is stored lowercase and logs in any case', async () => {
  const cli = async (args: string[]) => {
    const io = captureIo(t.dir, '', cliEnv(t))
    const code = await runCli(args, io, t.clock)
    return { code, out: io.stdout(), err: io.stderr() }
  }
  const created = await cli([
    'admin',
    'create',
    '--email',
    ' Boss@Shop.Example ',
    '--password',
    'a good password',
    '--json',
  ])
  expect(created.code).toBe(0)
  expect(JSON.parse(created.out)).toMatchObject({ email: 'boss@shop.example', created: true })
  expect(await login('BOSS@shop.example', 'a good password')).toEqual(LOGGED_IN)
  // The same address in other capitals is the same admin: its password is reset, no second one.
  const reset = await cli([
    'admin',
    'create',
    '--email',
    'BOSS@SHOP.EXAMPLE',
    '--password',
    'another password',
    '--json',
  ])
  expect(JSON.parse(reset.out)).toMatchObject({ email: 'boss@shop.example', created: false })
  expect(await t.data.all('SELECT email FROM admins')).toEqual([{ email: 'boss@shop.example' }])
  expect(await login('Boss@Shop.Example', 'a good password')).toMatchObject({ status: 401 })
  expect(await login('Boss@Shop.Example', 'another password')).toEqual(LOGGED_IN)
})

test('an admin row stored with capitals (written by hand or an older tool) is found by any case', async () => {
  const at = t.clock.now().epochMilliseconds
  await t.data.run(
    'INSERT INTO admins (email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)',
    'Old@Shop.Example',
    await hashPassword('a good password'),
    at,
    at,
  )
  expect(await login('old@shop.example', 'a good password')).toEqual(LOGGED_IN)
  expect(await login('OLD@SHOP.EXAMPLE', 'a good password')).toEqual(LOGGED_IN)
  // The same address in other capitals is the same admin: a second row is refused.
  await expect(
    t.data.run(
      'INSERT INTO admins (email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)',
      'old@shop.example',
      'x',
      at,
      at,
    ),
  ).rejects.toThrow()
  expect(await t.data.get('SELECT count(*) AS n FROM admins')).toEqual({ n: 1 })
})
