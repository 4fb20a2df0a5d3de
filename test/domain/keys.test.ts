import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Database } from '../../src/db/database.ts'
import type { FixedClock } from '../../src/domain/clock.ts'
import { Conflict, InvalidInput, NotFound } from '../../src/domain/errors.ts'
import {
  authenticateApiKey,
  createApiKey,
  findApiKey,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  listApiKeys,
  regenerateApiKey,
  revokeApiKey,
} from '../../src/domain/keys.ts'
import { openTestStore } from '../utils.ts'

const KEY_FORMAT = /^mida_sk_[0-9A-Za-z]{32}[0-9A-Za-z]{6}$/
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

let dir: string
let close: () => void
let db: Database
let storeId: number
let clock: FixedClock

beforeEach(() => {
  ;({ db, clock, storeId, dir, close } = openTestStore())
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

  test('a typo is refused without a database lookup', () => {
    const { secret } = createApiKey(db, storeId, 'k', 'export', clock)
    const last = secret.at(-1) === 'a' ? 'b' : 'a'
    const typo = secret.slice(0, -1) + last
    expect(authenticateApiKey(db, typo, 'export', clock)).toBeNull()
    // even with the table gone, a malformed key answers null instead of failing
    db.exec('ALTER TABLE api_keys RENAME TO api_keys_gone')
    expect(authenticateApiKey(db, typo, 'export', clock)).toBeNull()
    db.exec('ALTER TABLE api_keys_gone RENAME TO api_keys')
  })
})

describe('hashing', () => {
  test('hashApiKey is the SHA-256 in hex', () => {
    expect(hashApiKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  test('only the hash and a display prefix are stored', () => {
    const { key, secret } = createApiKey(db, storeId, 'Looker Studio', 'export', clock)
    const row = db.query('SELECT * FROM api_keys WHERE id = ?').get(key.id) as Record<
      string,
      unknown
    >
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
    })
    expect(key.prefix).toBe(secret.slice(0, 12))
    expect(key.prefix).toMatch(/^mida_sk_[0-9A-Za-z]{4}$/)
  })

  test('the raw key appears nowhere in the data directory', () => {
    const secrets: string[] = []
    for (let i = 0; i < 5; i++) {
      secrets.push(createApiKey(db, storeId, `key ${i}`, i % 2 ? 'ingest' : 'export', clock).secret)
    }
    secrets.push(regenerateApiKey(db, storeId, 'key 0', clock).secret)
    for (const s of secrets) authenticateApiKey(db, s, 'export', clock)
    revokeApiKey(db, storeId, 'key 1', clock)

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
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    scan()
  })
})

describe('authenticate, revoke, regenerate', () => {
  test('a valid key authenticates and records its last use once a minute', () => {
    const { key, secret } = createApiKey(db, storeId, 'k', 'export', clock)
    const t0 = Date.parse('2026-11-26T06:00:00Z')
    expect(authenticateApiKey(db, secret, 'export', clock)).toEqual({ ...key, lastUsedAt: t0 })
    clock.advance({ seconds: 59 })
    expect(authenticateApiKey(db, secret, 'export', clock)?.lastUsedAt).toBe(t0)
    clock.advance({ seconds: 1 })
    expect(authenticateApiKey(db, secret, 'export', clock)?.lastUsedAt).toBe(t0 + 60_000)
    expect(findApiKey(db, storeId, String(key.id)).lastUsedAt).toBe(t0 + 60_000)
  })

  test('an unknown well-formed key is refused', () => {
    createApiKey(db, storeId, 'k', 'export', clock)
    expect(authenticateApiKey(db, generateApiKey(), 'export', clock)).toBeNull()
  })

  test('a revoked key is refused; revoking twice says it is already revoked', () => {
    const { key, secret } = createApiKey(db, storeId, 'k', 'export', clock)
    clock.advance({ minutes: 5 })
    const revoked = revokeApiKey(db, storeId, 'k', clock)
    expect(revoked).toEqual({ ...key, revokedAt: Date.parse('2026-11-26T06:05:00Z') })
    expect(authenticateApiKey(db, secret, 'export', clock)).toBeNull()
    expect(() => revokeApiKey(db, storeId, String(key.id), clock)).toThrow(
      new Conflict(`Key ${key.id} (k) is already revoked`),
    )
    // by name, a revoked key is no longer found
    expect(() => revokeApiKey(db, storeId, 'k', clock)).toThrow(
      new NotFound('No key with id or active name "k"'),
    )
  })

  test('regenerate: the old key is refused, the new one accepted, same name and scope', () => {
    const old = createApiKey(db, storeId, 'Warehouse', 'ingest', clock)
    clock.advance({ hours: 1 })
    const fresh = regenerateApiKey(db, storeId, String(old.key.id), clock)
    expect(fresh.secret).not.toBe(old.secret)
    expect(fresh.secret).toMatch(KEY_FORMAT)
    expect(fresh.key.id).not.toBe(old.key.id)
    expect(fresh.key.name).toBe('Warehouse')
    expect(fresh.key.scope).toBe('ingest')
    expect(fresh.key.createdAt).toBe(Date.parse('2026-11-26T07:00:00Z'))
    expect(authenticateApiKey(db, old.secret, 'ingest', clock)).toBeNull()
    expect(authenticateApiKey(db, fresh.secret, 'ingest', clock)?.id).toBe(fresh.key.id)
    expect(findApiKey(db, storeId, String(old.key.id)).revokedAt).toBe(
      Date.parse('2026-11-26T07:00:00Z'),
    )
    // by name, the active one is regenerated again
    const third = regenerateApiKey(db, storeId, 'Warehouse', clock)
    expect(authenticateApiKey(db, fresh.secret, 'ingest', clock)).toBeNull()
    expect(authenticateApiKey(db, third.secret, 'ingest', clock)?.name).toBe('Warehouse')
    // a revoked key cannot be regenerated
    expect(() => regenerateApiKey(db, storeId, String(old.key.id), clock)).toThrow(
      new Conflict(`Key ${old.key.id} (Warehouse) is revoked; create a new key instead`),
    )
  })

  test('list: newest first, revoked ones included, never the secret', () => {
    const a = createApiKey(db, storeId, 'a', 'export', clock)
    const b = createApiKey(db, storeId, 'b', 'ingest', clock)
    revokeApiKey(db, storeId, 'a', clock)
    const list = listApiKeys(db, storeId)
    expect(list.map((k) => [k.id, k.name, k.scope, k.revokedAt !== null])).toEqual([
      [b.key.id, 'b', 'ingest', false],
      [a.key.id, 'a', 'export', true],
    ])
    expect(JSON.stringify(list)).not.toContain(a.secret.slice(12))
    expect(JSON.stringify(list)).not.toContain(b.secret.slice(12))
  })

  test('unknown id or name: NotFound', () => {
    expect(() => findApiKey(db, storeId, '42')).toThrow(
      new NotFound('No key with id or active name "42"'),
    )
    expect(() => findApiKey(db, storeId, 'nope')).toThrow(
      new NotFound('No key with id or active name "nope"'),
    )
  })
})

describe('scopes and names', () => {
  test('an ingest key is refused for export and an export key for ingest', () => {
    const ingest = createApiKey(db, storeId, 'in', 'ingest', clock)
    const exp = createApiKey(db, storeId, 'out', 'export', clock)
    expect(authenticateApiKey(db, ingest.secret, 'export', clock)).toBeNull()
    expect(authenticateApiKey(db, ingest.secret, 'ingest', clock)?.id).toBe(ingest.key.id)
    expect(authenticateApiKey(db, exp.secret, 'ingest', clock)).toBeNull()
    expect(authenticateApiKey(db, exp.secret, 'export', clock)?.id).toBe(exp.key.id)
  })

  test('an unknown scope is refused', () => {
    expect(() => createApiKey(db, storeId, 'k', 'admin', clock)).toThrow(
      new InvalidInput('scope must be export or ingest, got "admin"'),
    )
  })

  test('name rules', () => {
    const cases: [string, string][] = [
      ['', 'name must not be empty'],
      ['   ', 'name must not be empty'],
      ['x'.repeat(101), 'name must be at most 100 characters'],
      ['tab\there', 'name must not contain control characters'],
      ['123', 'name must not be only digits (ids are)'],
    ]
    for (const [name, message] of cases) {
      expect(() => createApiKey(db, storeId, name, 'export', clock)).toThrow(
        new InvalidInput(message),
      )
    }
    expect(createApiKey(db, storeId, '  Looker Studio  ', 'export', clock).key.name).toBe(
      'Looker Studio',
    )
    expect(createApiKey(db, storeId, 'x'.repeat(100), 'export', clock).key.name.length).toBe(100)
    expect(listApiKeys(db, storeId).length).toBe(2)
  })

  test('a duplicate active name is a 409 Conflict; a revoked name can be reused', () => {
    createApiKey(db, storeId, 'dup', 'export', clock)
    let error: unknown
    try {
      createApiKey(db, storeId, ' dup ', 'ingest', clock)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(Conflict)
    expect((error as Conflict).status).toBe(409)
    expect((error as Conflict).message).toBe('An active key named "dup" already exists')
    revokeApiKey(db, storeId, 'dup', clock)
    expect(createApiKey(db, storeId, 'dup', 'ingest', clock).key.scope).toBe('ingest')
  })
})
