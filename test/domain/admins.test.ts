import { afterEach, describe, expect, test } from 'bun:test'
import { ensureAdminAtStartup } from '../../src/cli/admin.ts'
import { loadConfig } from '../../src/config.ts'
import { SqliteData } from '../../src/db/data.ts'
import { type Database, openDatabaseFile } from '../../src/db/database.ts'
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
import { captureIo, tempDir } from '../utils.ts'

let db: Database
let clock: FixedClock
const open = () => {
  db = openDatabaseFile(':memory:', { secretKey: undefined })
  clock = new FixedClock('2026-11-26T06:00:00Z')
}
afterEach(() => db?.close())

describe('admin accounts', () => {
  test('creates an admin with an argon2id hash, then resets its password and ends its sessions', async () => {
    open()
    const first = await createOrResetAdmin(db, ' Me@Shop.example ', 'first password', clock)
    expect(first.created).toBe(true)
    expect(first.admin.email).toBe('me@shop.example')
    const { password_hash } = db.query('SELECT password_hash FROM admins').get() as {
      password_hash: string
    }
    expect(password_hash.startsWith('$argon2id$')).toBe(true)
    const session = startSession(db, first.admin.id, clock)
    expect(findSession(db, session.token, clock)?.admin.email).toBe('me@shop.example')

    clock.advance({ minutes: 5 })
    const reset = await createOrResetAdmin(db, 'me@shop.example', 'second password', clock)
    expect(reset.created).toBe(false)
    expect(reset.admin.id).toBe(first.admin.id)
    expect(countAdmins(db)).toBe(1)
    expect(findSession(db, session.token, clock)).toBeNull()
    expect(await verifyLogin(db, 'me@shop.example', 'first password')).toBeNull()
    expect((await verifyLogin(db, 'me@shop.example', 'second password'))?.id).toBe(first.admin.id)
  })

  test('refuses a bad email and a short password, naming each field', async () => {
    open()
    const err = await createOrResetAdmin(db, 'not-an-email', 'short', clock).catch((e) => e)
    expect(err).toBeInstanceOf(AdminInputError)
    expect(err.fields).toEqual({
      email: 'must be an email address',
      password: 'must be at least 8 characters',
    })
    expect(countAdmins(db)).toBe(0)
  })

  test('verifyLogin: wrong password and unknown email both give null', async () => {
    open()
    await createOrResetAdmin(db, 'me@shop.example', 'right password', clock)
    expect(await verifyLogin(db, 'me@shop.example', 'wrong password')).toBeNull()
    expect(await verifyLogin(db, 'nobody@shop.example', 'right password')).toBeNull()
    expect((await verifyLogin(db, 'ME@shop.example', 'right password'))?.email).toBe(
      'me@shop.example',
    )
  })
})

describe('setup links', () => {
  test('are valid for 30 minutes', () => {
    open()
    const { token, expiresAt } = issueSetupToken(db, clock)
    expect(expiresAt).toBe(Date.parse('2026-11-26T06:30:00Z'))
    clock.advance({ minutes: 29, seconds: 59 })
    expect(setupTokenProblem(db, token, clock)).toBeNull()
    clock.advance({ seconds: 1 })
    expect(setupTokenProblem(db, token, clock)).toBe(
      'This setup link has expired. Restart the server to get a new one.',
    )
    expect(setupTokenProblem(db, 'made-up', clock)).toBe('This setup link is not valid.')
  })

  test('create the first admin once', async () => {
    open()
    const { token } = issueSetupToken(db, clock)
    const admin = await createFirstAdmin(db, token, 'me@shop.example', 'a good password', clock)
    expect(listAdmins(db).map((a) => a.email)).toEqual(['me@shop.example'])
    expect(admin.email).toBe('me@shop.example')
    const again = await createFirstAdmin(
      db,
      token,
      'x@shop.example',
      'a good password',
      clock,
    ).catch((e) => e)
    expect(again).toBeInstanceOf(Conflict)
    expect(again.message).toBe('An admin already exists. Log in instead.')
    expect(countAdmins(db)).toBe(1)
  })

  test('a used link stays used', async () => {
    open()
    const { token } = issueSetupToken(db, clock)
    await createFirstAdmin(db, token, 'me@shop.example', 'a good password', clock)
    db.query('DELETE FROM admins').run()
    expect(setupTokenProblem(db, token, clock)).toBe('This setup link was already used.')
  })
})

describe('login sessions', () => {
  test('end after 7 idle days, slide with use, and never outlive 30 days', async () => {
    open()
    const { admin } = await createOrResetAdmin(db, 'me@shop.example', 'a good password', clock)
    const s = startSession(db, admin.id, clock)
    expect(s.token).toMatch(/^[0-9A-Za-z]{43}$/)
    expect(findSession(db, s.token, clock)?.csrfToken).toBe(s.csrfToken)
    // Used every 6 days: still alive after 24 days…
    for (let i = 0; i < 4; i++) {
      clock.advance({ hours: 6 * 24 })
      expect(findSession(db, s.token, clock)).not.toBeNull()
    }
    // …but not past 30 days from the login.
    clock.advance({ hours: 6 * 24 })
    expect(findSession(db, s.token, clock)).toBeNull()

    const idle = startSession(db, admin.id, clock)
    clock.advance({ hours: 7 * 24 })
    expect(findSession(db, idle.token, clock)).toBeNull()
  })

  test('logout ends the session; a malformed token finds nothing', async () => {
    open()
    const { admin } = await createOrResetAdmin(db, 'me@shop.example', 'a good password', clock)
    const s = startSession(db, admin.id, clock)
    endSession(db, s.token)
    expect(findSession(db, s.token, clock)).toBeNull()
    expect(findSession(db, "' OR 1=1 --", clock)).toBeNull()
  })
})

describe('start-up and the admin command', () => {
  test('MIDA_ADMIN_EMAIL/PASSWORD create the first admin; otherwise a setup link is printed', async () => {
    open()
    const lines: string[] = []
    const base = { cwd: '/', flags: {} }
    const withEnv = loadConfig({
      ...base,
      env: { MIDA_ADMIN_EMAIL: 'env@shop.example', MIDA_ADMIN_PASSWORD: 'from the env' },
    })
    await ensureAdminAtStartup(db, withEnv, clock, (l) => lines.push(l))
    expect(lines).toEqual([
      'Created admin env@shop.example from MIDA_ADMIN_EMAIL/MIDA_ADMIN_PASSWORD.',
    ])
    expect(
      recentAudit(db, ensureDefaultStore(db, clock).id).map((e) => [e.actor, e.action, e.detail]),
    ).toEqual([['environment', 'admin.created', 'env@shop.example']])
    // An admin exists: nothing more happens, even with other values.
    await ensureAdminAtStartup(db, withEnv, clock, (l) => lines.push(l))
    expect(lines.length).toBe(1)

    db.close()
    open()
    const plain = loadConfig({ ...base, env: { MIDA_BASE_URL: 'https://shop.example' } })
    await ensureAdminAtStartup(db, plain, clock, (l) => lines.push(l))
    const link = /https:\/\/shop\.example\/setup\?token=([0-9A-Za-z]{32})/.exec(lines[1]!)
    expect(link).not.toBeNull()
    expect(lines[1]).toContain('within 30 minutes')
    expect(setupTokenProblem(db, link![1]!, clock)).toBeNull()
  })

  test('`admin create` creates, then resets; bad input exits 1 with the reason', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const run = async (args: string[]) => {
        const io = captureIo(dir)
        const code = await runCli(
          [...args, '--data-dir', dir],
          io,
          new FixedClock('2026-11-26T06:00:00Z'),
        )
        return { code, out: io.stdout(), err: io.stderr() }
      }
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
      expect(JSON.parse(created.out)).toEqual({ id: 1, email: 'me@shop.example', created: true })
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
        { id: 1, email: 'me@shop.example', created_at: '2026-11-26T06:00:00Z' },
      ])
    } finally {
      cleanup()
    }
  })
})

describe("the first admin's email as the store email", () => {
  test('the setup link makes it the store email when the store has none', async () => {
    open()
    const storeId = ensureDefaultStore(db, clock).id
    const { token } = issueSetupToken(db, clock)
    await createFirstAdmin(db, token, 'First@Shop.example', 'a good password', clock)
    expect((await readSettings(new SqliteData(db), { id: storeId })).store_email).toBe(
      'first@shop.example',
    )
  })

  test('a store email already set is kept', async () => {
    open()
    const store = ensureDefaultStore(db, clock)
    const data = new SqliteData(db)
    await updateSettings(data, store, { store_email: 'shop@shop.example' }, clock)
    const { token } = issueSetupToken(db, clock)
    await createFirstAdmin(db, token, 'first@shop.example', 'a good password', clock)
    expect((await readSettings(data, store)).store_email).toBe('shop@shop.example')
  })

  test('MIDA_ADMIN_EMAIL at start-up makes it the store email, after seeding the time zone', async () => {
    open()
    const config = loadConfig({
      cwd: '/',
      flags: {},
      env: { MIDA_ADMIN_EMAIL: 'env@shop.example', MIDA_ADMIN_PASSWORD: 'from the env' },
    })
    await ensureAdminAtStartup(db, config, clock, () => {})
    const settings = await readSettings(new SqliteData(db), ensureDefaultStore(db, clock))
    expect(settings.store_email).toBe('env@shop.example')
    expect(settings.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC')
  })

  test('`admin create` does it for the first admin only, never for a later one', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const run = (email: string) =>
        runCli(
          ['admin', 'create', '--email', email, '--password', 'pass word 1', '--data-dir', dir],
          captureIo(dir),
          new FixedClock('2026-11-26T06:00:00Z'),
        )
      expect(await run('first@shop.example')).toBe(0)
      const io = captureIo(dir)
      expect(await runCli(['settings', '--json', '--data-dir', dir], io, clock)).toBe(0)
      expect(JSON.parse(io.stdout()).store_email).toBe('first@shop.example')
      const clear = captureIo(dir)
      await runCli(['settings', 'set', 'store_email=', '--data-dir', dir], clear, clock)
      expect(await run('second@shop.example')).toBe(0)
      const after = captureIo(dir)
      await runCli(['settings', '--json', '--data-dir', dir], after, clock)
      expect(JSON.parse(after.stdout()).store_email).toBe('')
    } finally {
      cleanup()
    }
  })
})
