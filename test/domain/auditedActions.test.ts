// The audited actions write their audit entry through their own transaction: when the entry
// cannot be written, the action leaves nothing behind, and an entry written in a transaction
// that rolls back is gone with it.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import {
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
import { type AuditActor, recentAudit, recordAudit } from '../../src/domain/audit.ts'
import {
  authenticateApiKey,
  createApiKey,
  listApiKeys,
  regenerateApiKey,
  revokeApiKey,
} from '../../src/domain/keys.ts'
import { onPostgres, openTestStore, type TestStore } from '../utils.ts'

let s: TestStore
let by: AuditActor
beforeEach(async () => {
  s = await openTestStore()
  by = { storeId: s.store.id, actor: 'owner@shop.example', address: '203.0.113.7' }
})
afterEach(() => s.close())

/** From now on every insert into the audit log fails, as a full disk or a broken table would. */
async function breakAuditLog() {
  if (onPostgres) {
    await s.data.run(
      `CREATE FUNCTION audit_log_broken() RETURNS trigger LANGUAGE plpgsql
       AS $$ BEGIN RAISE EXCEPTION 'the audit log cannot be written'; END $$`,
    )
    await s.data.run(
      `CREATE TRIGGER audit_log_broken BEFORE INSERT ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_broken()`,
    )
  } else {
    await s.data.run(
      `CREATE TEMP TRIGGER audit_log_broken BEFORE INSERT ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log cannot be written'); END`,
    )
  }
}

const AUDIT_FAILS = 'the audit log cannot be written'

const entries = async () =>
  (await recentAudit(s.data, s.store)).reverse().map((e) => [e.actor, e.action, e.detail])

describe('an audited action and its entry commit together', () => {
  test('keys: create, revoke and regenerate write their entry with the change', async () => {
    const { key, secret } = await createApiKey(s.data, s.store, 'Looker', 'export', s.clock, by)
    const fresh = await regenerateApiKey(s.data, s.store, 'Looker', s.clock, by)
    await revokeApiKey(s.data, s.store, String(fresh.key.id), s.clock, by)
    expect(await entries()).toEqual([
      ['owner@shop.example', 'key.created', `"Looker" (export, ${key.prefix}…)`],
      [
        'owner@shop.example',
        'key.regenerated',
        `"Looker" (export, ${key.prefix}…) → ${fresh.key.prefix}…`,
      ],
      ['owner@shop.example', 'key.revoked', `"Looker" (export, ${fresh.key.prefix}…)`],
    ])
    expect(await authenticateApiKey(s.data, secret, 'export', s.clock)).toBeNull()
  })

  test('a key is not created when its entry cannot be written', async () => {
    await breakAuditLog()
    await expect(createApiKey(s.data, s.store, 'Looker', 'export', s.clock, by)).rejects.toThrow(
      AUDIT_FAILS,
    )
    expect(await listApiKeys(s.data, s.store)).toEqual([])
  })

  test('a key stays active when its revocation or regeneration cannot be audited', async () => {
    const { key, secret } = await createApiKey(s.data, s.store, 'Looker', 'export', s.clock)
    // Cached by a first use: a failed revocation must not leave the cache doubting it either.
    expect((await authenticateApiKey(s.data, secret, 'export', s.clock))?.id).toBe(key.id)
    await breakAuditLog()
    await expect(revokeApiKey(s.data, s.store, 'Looker', s.clock, by)).rejects.toThrow(AUDIT_FAILS)
    await expect(regenerateApiKey(s.data, s.store, 'Looker', s.clock, by)).rejects.toThrow(
      AUDIT_FAILS,
    )
    const keys = await listApiKeys(s.data, s.store)
    expect(keys.map((k) => [k.id, k.revokedAt])).toEqual([[key.id, null]])
    expect((await authenticateApiKey(s.data, secret, 'export', s.clock))?.id).toBe(key.id)
  })

  test('an admin is neither created nor reset, and keeps its sessions, when the entry fails', async () => {
    const { admin } = await createOrResetAdmin(s.data, 'me@shop.example', 'first password', s.clock)
    const session = await startSession(s.data, admin.id, s.clock)
    await breakAuditLog()
    await expect(
      createOrResetAdmin(s.data, 'two@shop.example', 'a good password', s.clock, by),
    ).rejects.toThrow(AUDIT_FAILS)
    await expect(
      createOrResetAdmin(s.data, 'me@shop.example', 'second password', s.clock, by),
    ).rejects.toThrow(AUDIT_FAILS)
    expect((await listAdmins(s.data)).map((a) => a.email)).toEqual(['me@shop.example'])
    expect((await verifyLogin(s.data, 'me@shop.example', 'first password'))?.id).toBe(admin.id)
    expect((await findSession(s.data, session.token, s.clock))?.admin.id).toBe(admin.id)
  })

  test('a setup link is not spent and no admin exists when the entry fails', async () => {
    const { token } = await issueSetupToken(s.data, s.clock)
    await breakAuditLog()
    const from = { storeId: s.store.id, address: '203.0.113.7' }
    await expect(
      createFirstAdmin(s.data, token, 'me@shop.example', 'a good password', s.clock, from),
    ).rejects.toThrow(AUDIT_FAILS)
    expect(await listAdmins(s.data)).toEqual([])
    expect(await setupTokenProblem(s.data, token, s.clock)).toBeNull()
  })

  test('no session starts and none ends when login or logout cannot be audited', async () => {
    const { admin } = await createOrResetAdmin(
      s.data,
      'me@shop.example',
      'a good password',
      s.clock,
    )
    const open = await startSession(s.data, admin.id, s.clock)
    await breakAuditLog()
    const login = { ...by, actor: admin.email }
    await expect(startSession(s.data, admin.id, s.clock, login)).rejects.toThrow(AUDIT_FAILS)
    expect(await s.data.get('SELECT count(*) AS n FROM admin_sessions')).toEqual({ n: 1 })
    await expect(endSession(s.data, open.token, s.clock, login)).rejects.toThrow(AUDIT_FAILS)
    expect((await findSession(s.data, open.token, s.clock))?.admin.id).toBe(admin.id)
  })
})

describe('the audit writer in a caller’s transaction', () => {
  test('an entry written through a transaction that rolls back is not kept', async () => {
    const entry = { ...by, action: 'settings.changed', detail: 'timezone' } as const
    await s.data.tx(async (q) => {
      await recordAudit(q, entry, s.clock)
    })
    const failed = s.data.tx(async (q) => {
      await recordAudit(q, { ...entry, detail: 'currency' }, s.clock)
      throw new Error('the change failed')
    })
    await expect(failed).rejects.toThrow('the change failed')
    expect(await entries()).toEqual([['owner@shop.example', 'settings.changed', 'timezone']])
  })
})
