import { describe, expect, test } from 'bun:test'
import {
  isSealed,
  openSecret,
  requireSecret,
  revealSecret,
  Secrets,
  SecretUnavailable,
  sealSecret,
} from '../../src/domain/secrets.ts'

const KEY = 'a-long-random-secret-key-0123456789'
const OTHER = 'another-long-random-secret-key-9876'

describe('sealSecret and openSecret', () => {
  test('a sealed secret is AES-GCM text with a versioned prefix and a fresh IV each time', () => {
    const a = sealSecret('smtp pass wørd', KEY)
    const b = sealSecret('smtp pass wørd', KEY)
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/)
    expect(a).not.toBe(b)
    expect(a).not.toContain('smtp')
    expect(isSealed(a)).toBe(true)
    expect(openSecret(a, KEY)).toBe('smtp pass wørd')
    expect(openSecret(b, KEY)).toBe('smtp pass wørd')
  })

  test('without a key, and for an empty value, the value is stored as is', () => {
    expect(sealSecret('plain', undefined)).toBe('plain')
    expect(sealSecret('', KEY)).toBe('')
    expect(openSecret('plain', KEY)).toBe('plain')
    expect(openSecret('plain', undefined)).toBe('plain')
  })

  test('a missing key, a wrong key or tampered text is a clear error, never garbage', () => {
    const sealed = sealSecret('hunter2', KEY)
    expect(() => openSecret(sealed, undefined, 'The SMTP password')).toThrow(
      new SecretUnavailable('The SMTP password', 'missing'),
    )
    expect(() => openSecret(sealed, undefined, 'The SMTP password')).toThrow(
      'The SMTP password is stored encrypted and cannot be decrypted: MIDA_SECRET_KEY is not set (set that key, or enter the secret again)',
    )
    expect(() => openSecret(sealed, OTHER, 'The SMTP password')).toThrow(
      'The SMTP password is stored encrypted and cannot be decrypted: MIDA_SECRET_KEY is not the key it was saved with (set that key, or enter the secret again)',
    )
    // The second-to-last character changed (to one it is not already).
    const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === 'A' ? 'B' : 'A'}${sealed.slice(-1)}`
    expect(() => openSecret(flipped, KEY)).toThrow(SecretUnavailable)
    expect(() => openSecret('enc:v1:short', KEY)).toThrow(SecretUnavailable)
    expect(new SecretUnavailable('x', 'wrong').status).toBe(503)
  })

  test('revealSecret never throws; requireSecret refuses what stayed sealed', () => {
    const sealed = sealSecret('hunter2', KEY)
    expect(revealSecret(sealed, KEY)).toBe('hunter2')
    expect(revealSecret(sealed, OTHER)).toBe(sealed)
    expect(requireSecret('hunter2', 'The webhook signing secret')).toBe('hunter2')
    expect(() => requireSecret(sealed, 'The webhook signing secret')).toThrow(
      'The webhook signing secret is stored encrypted and cannot be decrypted: MIDA_SECRET_KEY is not set or is not the key it was saved with (set that key, or enter the secret again)',
    )
  })

  test('a Secrets seals with its own key only: none stores as is, another cannot open it', () => {
    const sealing = new Secrets(KEY)
    const none = new Secrets(undefined)
    expect([sealing.sealing, none.sealing, new Secrets('').sealing]).toEqual([true, false, false])
    const sealed = sealing.seal('hunter2')
    expect(isSealed(sealed)).toBe(true)
    expect(sealing.reveal(sealed)).toBe('hunter2')
    expect(none.seal('hunter2')).toBe('hunter2')
    expect(none.reveal(sealed)).toBe(sealed)
    expect(new Secrets(OTHER).reveal(sealed)).toBe(sealed)
  })
})
