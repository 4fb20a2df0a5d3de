import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Data } from '../../src/db/data.ts'
import type { FixedClock } from '../../src/domain/clock.ts'
import { Conflict, InvalidInput, NotFound } from '../../src/domain/errors.ts'
import {
  authenticateApiKey,
  createApiKey,
  findApiKey,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  keyState,
  listApiKeys,
  regenerateApiKey,
  revokeApiKey,
} from '../../src/domain/keys.ts'
import type { Store } from '../../src/domain/stores.ts'
import { openTestStore, sqliteOnly } from '../utils.ts'

const KEY_FORMAT = /^mida_sk_[0-9A-Za-z]{32}[0-9A-Za-z]{6}$/
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

let dir: string
let close: () => void
let data: Data
let store: Store
let storeId: number
let clock: FixedClock

beforeEach(async () => {
  ;({ data, store, clock, storeId, dir, close } = await openTestStore())
})

afterEach(() => close())

describe('key format', () => {
  test('mida_sk_ + 32 base62 characters + a 6-character checksum', () => {
    const keys = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey()
      expect(key).toMatch(KEY_FORMAT)
      expect(key.length).toBe(46)
      expect(isWellFormedApiKey(key)).toBe(true)
      keys.add(key)
    }
    expect(keys.size).toBe(200)
  })

  test('the checksum rejects every single-character typo', () => {
    const key = generateApiKey()
    for (let i = 'mida_sk_'.length; i < key.length; i++) {
      const c = key[i]!
      const other = BASE62[(BASE62.indexOf(c) + 1 + (i % 61)) % 62]!
      const typo = key.slice(0, i) + other + key.slice(i + 1)
      expect(typo).not.toBe(key)
      expect(isWellFormedApiKey(typo)).toBe(false)
    }
    // two swapped neighbours
    const swapped = `${key.slice(0, 10)}${key[11]}${key[10]}${key.slice(12)}`
    if (swapped !== key) expect(isWellFormedApiKey(swapped)).toBe(false)
  })

  test('other shapes are refused', () => {
    const key = generateApiKey()
    for (const bad of [
      '',
      key.slice(0, -1),
      `${key}x`,
      key.replace('mida_sk_', 'mida_pk_'),
      key.toUpperCase(),
      ` ${key}`,
      `${key.slice(0, 20)}-${key.slice(21)}`,
    ]) {
      expect(isWellFormedApiKey(bad)).toBe(false)
    }
  })

  test('a typo is refused without a database lookup', async () => {
    const { secret } = await createApiKey(data, store, 'k', 'export', clock)
    const last = secret.at(-1) === 'a' ? 'b' : 'a'
    const typo = secret.slice(0, -1) + last
    expect(await authenticateApiKey(data, typo, 'export', clock)).toBeNull()
    // even with the table gone, a malformed key answers null instead of failing
    await data.run('ALTER TABLE api_keys RENAME TO api_keys_gone')
    expect(await authenticateApiKey(data, typo, 'export', clock)).toBeNull()
    await data.run('ALTER TABLE api_keys_gone RENAME TO api_keys')
  })
})

describe('hashing', () => {
  test('hashApiKey is the SHA-256 in hex', () => {
    expect(hashApiKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  test('only the hash and a display prefix are stored', async () => {
    const { key, secret } = await createApiKey(data, store, 'Looker Studio', 'export', clock)
    const row = await data.get('SELECT * FROM api_keys WHERE id = ?', key.id)
    expect(row).toEqual({
      id: key.id,
      store_id: storeId,
      name: 'Looker Studio',
      scope: 'export',
      prefix: secret.slice(0, 12),
      key_hash: hashApiKey(secret),
      created_at: Date.parse('2026-11-26T06:00:00Z'),
      last_used_at: null,
      revoked_at: null,
      expires_at: null,
    })
    expect(key.prefix).toBe(secret.slice(0, 12))
    expect(key.prefix).toMatch(/^mida_sk_[0-9A-Za-z]{4}$/)
  })

  // SQLite's database, WAL and shared-memory files are in the data directory; PostgreSQL's are
  // the server's, and the row test above shows what it is given.
  sqliteOnly('the raw key appears nowhere in the data directory (SQLite only)', async () => {
    const secrets: string[] = []
    for (let i = 0; i < 5; i++) {
      secrets.push(
        (await createApiKey(data, store, `key ${i}`, i % 2 ? 'ingest' : 'export', clock)).secret,
      )
    }
    secrets.push((await regenerateApiKey(data, store, 'key 0', clock)).secret)
    for (const s of secrets) await authenticateApiKey(data, s, 'export', clock)
    await revokeApiKey(data, store, 'key 1', clock)

    const scan = () => {
      const files = readdirSync(dir)
      expect(files).toContain('mida.sqlite')
      let hashFound = false
      for (const file of files) {
        const bytes = readFileSync(join(dir, file))
        for (const s of secrets) {
          // neither the whole key nor its secret part (after the displayed prefix)
          expect(bytes.includes(Buffer.from(s))).toBe(false)
          expect(bytes.includes(Buffer.from(s.slice(12)))).toBe(false)
        }
        // sanity: the scan does find what is stored
        if (bytes.includes(Buffer.from(hashApiKey(secrets[0]!)))) hashFound = true
      }
      expect(hashFound).toBe(true)
      return files
    }
    // while open: the WAL and shared memory files hold the recent writes
    expect(scan()).toEqual(
      expect.arrayContaining(['mida.sqlite', 'mida.sqlite-wal', 'mida.sqlite-shm']),
    )
    await data.run('PRAGMA wal_checkpoint(TRUNCATE)')
    scan()
  })
})

describe('authenticate, revoke, regenerate', () => {
  test('a valid key authenticates and records its last use once a minute', async () => {
    const { key, secret } = await createApiKey(data, store, 'k', 'export', clock)
    const t0 = Date.parse('2026-11-26T06:00:00Z')
    expect(await authenticateApiKey(data, secret, 'export', clock)).toEqual({
      ...key,
      lastUsedAt: t0,
    })
    clock.advance({ seconds: 59 })
    expect((await authenticateApiKey(data, secret, 'export', clock))?.lastUsedAt).toBe(t0)
    clock.advance({ seconds: 1 })
    expect((await authenticateApiKey(data, secret, 'export', clock))?.lastUsedAt).toBe(t0 + 60_000)
    expect((await findApiKey(data, store, String(key.id))).lastUsedAt).toBe(t0 + 60_000)
  })

  test('an unknown well-formed key is refused', async () => {
    await createApiKey(data, store, 'k', 'export', clock)
    expect(await authenticateApiKey(data, generateApiKey(), 'export', clock)).toBeNull()
  })

  test('a revoked key is refused; revoking twice says it is already revoked', async () => {
    const { key, secret } = await createApiKey(data, store, 'k', 'export', clock)
    clock.advance({ minutes: 5 })
    const revoked = await revokeApiKey(data, store, 'k', clock)
    expect(revoked).toEqual({ ...key, revokedAt: Date.parse('2026-11-26T06:05:00Z') })
    expect(await authenticateApiKey(data, secret, 'export', clock)).toBeNull()
    await expect(revokeApiKey(data, store, String(key.id), clock)).rejects.toThrow(
      new Conflict(`Key ${key.id} (k) is already revoked`),
    )
    // by name, a revoked key is no longer found
    await expect(revokeApiKey(data, store, 'k', clock)).rejects.toThrow(
      new NotFound('No key with id or active name "k"'),
    )
  })

  test('regenerate: the old key is refused, the new one accepted, same name and scope', async () => {
    const old = await createApiKey(data, store, 'Warehouse', 'ingest', clock)
    clock.advance({ hours: 1 })
    const fresh = await regenerateApiKey(data, store, String(old.key.id), clock)
    expect(fresh.secret).not.toBe(old.secret)
    expect(fresh.secret).toMatch(KEY_FORMAT)
    expect(fresh.key.id).not.toBe(old.key.id)
    expect(fresh.key.name).toBe('Warehouse')
    expect(fresh.key.scope).toBe('ingest')
    expect(fresh.key.createdAt).toBe(Date.parse('2026-11-26T07:00:00Z'))
    expect(await authenticateApiKey(data, old.secret, 'ingest', clock)).toBeNull()
    expect((await authenticateApiKey(data, fresh.secret, 'ingest', clock))?.id).toBe(fresh.key.id)
    expect((await findApiKey(data, store, String(old.key.id))).revokedAt).toBe(
      Date.parse('2026-11-26T07:00:00Z'),
    )
    // by name, the active one is regenerated again
    const third = await regenerateApiKey(data, store, 'Warehouse', clock)
    expect(await authenticateApiKey(data, fresh.secret, 'ingest', clock)).toBeNull()
    expect((await authenticateApiKey(data, third.secret, 'ingest', clock))?.name).toBe('Warehouse')
    // a revoked key cannot be regenerated
    await expect(regenerateApiKey(data, store, String(old.key.id), clock)).rejects.toThrow(
      new Conflict(`Key ${old.key.id} (Warehouse) is revoked; create a new key instead`),
    )
  })

  test('list: newest first, revoked ones included, never the secret', async () => {
    const a = await createApiKey(data, store, 'a', 'export', clock)
    const b = await createApiKey(data, store, 'b', 'ingest', clock)
    await revokeApiKey(data, store, 'a', clock)
    const list = await listApiKeys(data, store)
    expect(list.map((k) => [k.id, k.name, k.scope, k.revokedAt !== null])).toEqual([
      [b.key.id, 'b', 'ingest', false],
      [a.key.id, 'a', 'export', true],
    ])
    expect(JSON.stringify(list)).not.toContain(a.secret.slice(12))
    expect(JSON.stringify(list)).not.toContain(b.secret.slice(12))
  })

  test('unknown id or name: NotFound', async () => {
    await expect(findApiKey(data, store, '42')).rejects.toThrow(
      new NotFound('No key with id or active name "42"'),
    )
    await expect(findApiKey(data, store, 'nope')).rejects.toThrow(
      new NotFound('No key with id or active name "nope"'),
    )
  })
})

describe('scopes and names', () => {
  test('an ingest key is refused for export and an export key for ingest', async () => {
    const ingest = await createApiKey(data, store, 'in', 'ingest', clock)
    const exp = await createApiKey(data, store, 'out', 'export', clock)
    expect(await authenticateApiKey(data, ingest.secret, 'export', clock)).toBeNull()
    expect((await authenticateApiKey(data, ingest.secret, 'ingest', clock))?.id).toBe(ingest.key.id)
    expect(await authenticateApiKey(data, exp.secret, 'ingest', clock)).toBeNull()
    expect((await authenticateApiKey(data, exp.secret, 'export', clock))?.id).toBe(exp.key.id)
  })

  test('an unknown scope is refused', async () => {
    await expect(createApiKey(data, store, 'k', 'admin', clock)).rejects.toThrow(
      new InvalidInput('scope must be export, ingest or report, got "admin"'),
    )
  })

  test('name rules', async () => {
    const cases: [string, string][] = [
      ['', 'name must not be empty'],
      ['   ', 'name must not be empty'],
      ['x'.repeat(101), 'name must be at most 100 characters'],
      ['tab\there', 'name must not contain control characters'],
      ['123', 'name must not be only digits (ids are)'],
    ]
    for (const [name, message] of cases) {
      await expect(createApiKey(data, store, name, 'export', clock)).rejects.toThrow(
        new InvalidInput(message),
      )
    }
    expect((await createApiKey(data, store, '  Looker Studio  ', 'export', clock)).key.name).toBe(
      'Looker Studio',
    )
    expect(
      (await createApiKey(data, store, 'x'.repeat(100), 'export', clock)).key.name.length,
    ).toBe(100)
    expect((await listApiKeys(data, store)).length).toBe(2)
  })

  test('a duplicate active name is a 409 Conflict; a revoked name can be reused', async () => {
    await createApiKey(data, store, 'dup', 'export', clock)
    let error: unknown
    try {
      await createApiKey(data, store, ' dup ', 'ingest', clock)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(Conflict)
    expect((error as Conflict).status).toBe(409)
    expect((error as Conflict).message).toBe('An active key named "dup" already exists')
    await revokeApiKey(data, store, 'dup', clock)
    expect((await createApiKey(data, store, 'dup', 'ingest', clock)).key.scope).toBe('ingest')
  })

  test("an expired key's name is free: the expired key is marked revoked at its expiry, a key not expired yet keeps it", async () => {
    const expiresAt = clock.now().epochMilliseconds + 60_000
    const old = await createApiKey(data, store, 'sheet', 'report', clock, undefined, { expiresAt })
    clock.advance({ seconds: 59 })
    await expect(createApiKey(data, store, 'sheet', 'report', clock)).rejects.toThrow(
      'An active key named "sheet" already exists',
    )
    clock.advance({ seconds: 1 })
    const fresh = await createApiKey(data, store, 'sheet', 'report', clock)
    const keys = await listApiKeys(data, store)
    expect(keys.map((k) => [k.id, k.name, keyState(k, expiresAt)])).toEqual([
      [fresh.key.id, 'sheet', 'active'],
      [old.key.id, 'sheet', 'revoked'],
    ])
    expect(keys[1]?.revokedAt).toBe(expiresAt)
    expect(await authenticateApiKey(data, old.secret, 'report', clock)).toBeNull()
    expect((await authenticateApiKey(data, fresh.secret, 'report', clock))?.id).toBe(fresh.key.id)
  })
})
