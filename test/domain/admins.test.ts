import { afterEach, describe, expect, test } from 'bun:test'
import { ensureAdminAtStartup } from '../../src/cli/admin.ts'
import { loadConfig } from '../../src/config.ts'
import type { Data } from '../../src/db/data.ts'
import {
  AdminInputError,
  countAdmins,
  createFirstAdmin,
  createOrResetAdmin,
  endSession,
  findSession,
  issueSetupToken,
  listAdmins,
  setupTokenProblem,
  startSession,
  verifyLogin,
} from '../../src/domain/admins.ts'
import { recentAudit } from '../../src/domain/audit.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { Conflict } from '../../src/domain/errors.ts'
import { readSettings, updateSettings } from '../../src/domain/settings.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, engineEnv, openTestStore, type TestStore, tempDir } from '../utils.ts'

let opened: TestStore | undefined
let data: Data
let clock: FixedClock
/** Runs the command line on the data dir `dir` (and the test database), at a fixed time. */
async function commandLineIn(dir: string) {
  const env = await engineEnv()
  return async (args: string[]) => {
    const io = captureIo(dir, '', env)
    const code = await runCli(
      [...args, '--data-dir', dir],
      io,
      new FixedClock('2026-11-26T06:00:00Z'),
    )
    return { code, out: io.stdout(), err: io.stderr() }
  }
}

const open = async () => {
  opened = await openTestStore('2026-11-26T06:00:00Z')
  data = opened.data
  clock = opened.clock
}
afterEach(() => {
  opened?.close()
  opened = undefined
})

describe('admin accounts', () => {
  test('creates an admin with an argon2id hash, then resets its password and ends its sessions', async () => {
    await open()
    const first = await createOrResetAdmin(data, ' Me@Shop.example ', 'first password', clock)
    expect(first.created).toBe(true)
    expect(first.admin.email).toBe('me@shop.example')
    const { password_hash } = (await data.get<{ password_hash: string }>(
      'SELECT password_hash FROM admins',
    )) as { password_hash: string }
    expect(password_hash.startsWith('$argon2id$')).toBe(true)
    const session = await startSession(data, first.admin.id, clock)
    expect((await findSession(data, session.token, clock))?.admin.email).toBe('me@shop.example')

    clock.advance({ minutes: 5 })
    const reset = await createOrResetAdmin(data, 'me@shop.example', 'second password', clock)
    expect(reset.created).toBe(false)
    expect(reset.admin.id).toBe(first.admin.id)
    expect(await countAdmins(data)).toBe(1)
    expect(await findSession(data, session.token, clock)).toBeNull()
    expect(await verifyLogin(data, 'me@shop.example', 'first password')).toBeNull()
    expect((await verifyLogin(data, 'me@shop.example', 'second password'))?.id).toBe(first.admin.id)
  })

  test('refuses a bad email and a short password, naming each field', async () => {
    await open()
    const err = await createOrResetAdmin(data, 'not-an-email', 'short', clock).catch((e) => e)
    expect(err).toBeInstanceOf(AdminInputError)
    expect(err.fields).toEqual({
      email: 'must be an email address',
      password: 'must be at least 8 characters',
    })
    expect(await countAdmins(data)).toBe(0)
  })

  test('verifyLogin: wrong password and unknown email both give null', async () => {
    await open()
    await createOrResetAdmin(data, 'me@shop.example', 'right password', clock)
    expect(await verifyLogin(data, 'me@shop.example', 'wrong password')).toBeNull()
    expect(await verifyLogin(data, 'nobody@shop.example', 'right password')).toBeNull()
    expect((await verifyLogin(data, 'ME@shop.example', 'right password'))?.email).toBe(
      'me@shop.example',
    )
  })
})

describe('setup links', () => {
  test('are valid for 30 minutes', async () => {
    await open()
    const { token, expiresAt } = await issueSetupToken(data, clock)
    expect(expiresAt).toBe(Date.parse('2026-11-26T06:30:00Z'))
    clock.advance({ minutes: 29, seconds: 59 })
    expect(await setupTokenProblem(data, token, clock)).toBeNull()
    clock.advance({ seconds: 1 })
    expect(await setupTokenProblem(data, token, clock)).toBe(
      'This setup link has expired. Restart the server to get a new one.',
    )
    expect(await setupTokenProblem(data, 'made-up', clock)).toBe('This setup link is not valid.')
  })

  test('create the first admin once', async () => {
    await open()
    const { token } = await issueSetupToken(data, clock)
    const admin = await createFirstAdmin(data, token, 'me@shop.example', 'a good password', clock)
    expect((await listAdmins(data)).map((a) => a.email)).toEqual(['me@shop.example'])
    expect(admin.email).toBe('me@shop.example')
    const again = await createFirstAdmin(
      data,
      token,
      'x@shop.example',
      'a good password',
      clock,
    ).catch((e) => e)
    expect(again).toBeInstanceOf(Conflict)
    expect(again.message).toBe('An admin already exists. Log in instead.')
    expect(await countAdmins(data)).toBe(1)
  })

  test('a used link stays used', async () => {
    await open()
    const { token } = await issueSetupToken(data, clock)
    await createFirstAdmin(data, token, 'me@shop.example', 'a good password', clock)
    await data.run('DELETE FROM admins')
    expect(await setupTokenProblem(data, token, clock)).toBe('This setup link was already used.')
  })
})

describe('login sessions', () => {
  test('end after 7 idle days, slide with use, and never outlive 30 days', async () => {
    await open()
    const { admin } = await createOrResetAdmin(data, 'me@shop.example', 'a good password', clock)
    const s = await startSession(data, admin.id, clock)
    expect(s.token).toMatch(/^[0-9A-Za-z]{43}$/)
    expect((await findSession(data, s.token, clock))?.csrfToken).toBe(s.csrfToken)
    // Used every 6 days: still alive after 24 days…
    for (let i = 0; i < 4; i++) {
      clock.advance({ hours: 6 * 24 })
      expect(await findSession(data, s.token, clock)).not.toBeNull()
    }
    // …but not past 30 days from the login.
    clock.advance({ hours: 6 * 24 })
    expect(await findSession(data, s.token, clock)).toBeNull()

    const idle = await startSession(data, admin.id, clock)
    clock.advance({ hours: 7 * 24 })
    expect(await findSession(data, idle.token, clock)).toBeNull()
  })

  test('logout ends the session; a malformed token finds nothing', async () => {
    await open()
    const { admin } = await createOrResetAdmin(data, 'me@shop.example', 'a good password', clock)
    const s = await startSession(data, admin.id, clock)
    await endSession(data, s.token, clock)
    expect(await findSession(data, s.token, clock)).toBeNull()
    expect(await findSession(data, "' OR 1=1 --", clock)).toBeNull()
  })
})

describe('start-up and the admin command', () => {
  test('MIDA_ADMIN_EMAIL/PASSWORD create the first admin; otherwise a setup link is printed', async () => {
    await open()
    const lines: string[] = []
    const base = { cwd: '/', flags: {} }
    const withEnv = loadConfig({
      ...base,
      env: { MIDA_ADMIN_EMAIL: 'env@shop.example', MIDA_ADMIN_PASSWORD: 'from the env' },
    })
    await ensureAdminAtStartup(data, withEnv, clock, (l) => lines.push(l))
    expect(lines).toEqual([
      'Created admin env@shop.example from MIDA_ADMIN_EMAIL/MIDA_ADMIN_PASSWORD.',
    ])
    expect(
      (await recentAudit(data, await ensureDefaultStore(data, clock))).map((e) => [
        e.actor,
        e.action,
        e.detail,
      ]),
    ).toEqual([['environment', 'admin.created', 'env@shop.example']])
    // An admin exists: nothing more happens, even with other values.
    await ensureAdminAtStartup(data, withEnv, clock, (l) => lines.push(l))
    expect(lines.length).toBe(1)

    opened?.close()
    await open()
    const plain = loadConfig({ ...base, env: { MIDA_BASE_URL: 'https://shop.example' } })
    await ensureAdminAtStartup(data, plain, clock, (l) => lines.push(l))
    const link = /https:\/\/shop\.example\/setup\?token=([0-9A-Za-z]{32})/.exec(lines[1]!)
    expect(link).not.toBeNull()
    expect(lines[1]).toContain('within 30 minutes')
    expect(await setupTokenProblem(data, link![1]!, clock)).toBeNull()
  })

  test('`admin create` creates, then resets; bad input exits 1 with the reason', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const run = await commandLineIn(dir)
      const created = await run([
        'admin',
        'create',
        '--email',
        'me@shop.example',
        '--password',
        'pass word 1',
        '--json',
      ])
      expect(created.code).toBe(0)
      expect(JSON.parse(created.out)).toEqual({
        id: 1,
        email: 'me@shop.example',
        created: true,
        stores: 'all',
      })
      const reset = await run([
        'admin',
        'create',
        '--email',
        'me@shop.example',
        '--password',
        'pass word 2',
      ])
      expect(reset.code).toBe(0)
      expect(reset.out).toStartWith('Reset the password of me@shop.example')
      const bad = await run([
        'admin',
        'create',
        '--email',
        'me@shop.example',
        '--password',
        'short',
      ])
      expect(bad.code).toBe(1)
      expect(bad.err).toBe('Error: password must be at least 8 characters\n')
      const missing = await run(['admin', 'create', '--email', 'me@shop.example'])
      expect(missing.code).toBe(2)
      const list = await run(['admin', 'list', '--json'])
      expect(JSON.parse(list.out)).toEqual([
        { id: 1, email: 'me@shop.example', created_at: '2026-11-26T06:00:00Z', stores: 'all' },
      ])
    } finally {
      cleanup()
    }
  })
})

describe("the first admin's email as the store email", () => {
  test('the setup link makes it the store email when the store has none', async () => {
    await open()
    const store = await ensureDefaultStore(data, clock)
    const { token } = await issueSetupToken(data, clock)
    await createFirstAdmin(data, token, 'First@Shop.example', 'a good password', clock)
    expect((await readSettings(data, store)).store_email).toBe('first@shop.example')
  })

  test('a store email already set is kept', async () => {
    await open()
    const store = await ensureDefaultStore(data, clock)
    await updateSettings(data, store, { store_email: 'shop@shop.example' }, clock)
    const { token } = await issueSetupToken(data, clock)
    await createFirstAdmin(data, token, 'first@shop.example', 'a good password', clock)
    expect((await readSettings(data, store)).store_email).toBe('shop@shop.example')
  })

  test('MIDA_ADMIN_EMAIL at start-up makes it the store email, after seeding the time zone', async () => {
    await open()
    const config = loadConfig({
      cwd: '/',
      flags: {},
      env: { MIDA_ADMIN_EMAIL: 'env@shop.example', MIDA_ADMIN_PASSWORD: 'from the env' },
    })
    await ensureAdminAtStartup(data, config, clock, () => {})
    const settings = await readSettings(data, await ensureDefaultStore(data, clock))
    expect(settings.store_email).toBe('env@shop.example')
    expect(settings.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC')
  })

  test('`admin create` does it for the first admin only, never for a later one', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const env = await engineEnv()
      const run = (email: string) =>
        runCli(
          ['admin', 'create', '--email', email, '--password', 'pass word 1', '--data-dir', dir],
          captureIo(dir, '', env),
          new FixedClock('2026-11-26T06:00:00Z'),
        )
      expect(await run('first@shop.example')).toBe(0)
      const io = captureIo(dir, '', env)
      expect(await runCli(['settings', '--json', '--data-dir', dir], io, clock)).toBe(0)
      expect(JSON.parse(io.stdout()).store_email).toBe('first@shop.example')
      const clear = captureIo(dir, '', env)
      await runCli(['settings', 'set', 'store_email=', '--data-dir', dir], clear, clock)
      expect(await run('second@shop.example')).toBe(0)
      const after = captureIo(dir, '', env)
      await runCli(['settings', '--json', '--data-dir', dir], after, clock)
      expect(JSON.parse(after.stdout()).store_email).toBe('')
    } finally {
      cleanup()
    }
  })
})

describe('the first admin limited to some stores', () => {
  test('becomes the store email of its own stores only; a slug given twice counts once', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const run = await commandLineIn(dir)
      expect((await run(['stores', 'create', 'outlet'])).code).toBe(0)
      const bob = ['--email', 'bob@client.example', '--password', 'pass word 1']
      const created = await run([
        'admin',
        'create',
        ...bob,
        '--store',
        'outlet',
        '--store',
        'outlet',
      ])
      expect([created.code, created.err]).toEqual([0, ''])
      const emails = JSON.parse((await run(['stores', 'list', '--json'])).out).map(
        async (s: { slug: string }) => [
          s.slug,
          JSON.parse((await run(['settings', '--store', s.slug, '--json'])).out).store_email,
        ],
      )
      // The default store's emails (its name and figures) never go to an admin who may not see it.
      expect(await Promise.all(emails)).toEqual([
        ['default', ''],
        ['outlet', 'bob@client.example'],
      ])
      expect(JSON.parse((await run(['admin', 'list', '--json'])).out)).toEqual([
        {
          id: 1,
          email: 'bob@client.example',
          created_at: '2026-11-26T06:00:00Z',
          stores: ['outlet'],
        },
      ])
    } finally {
      cleanup()
    }
  })
})
