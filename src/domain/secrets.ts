import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto'
import { AppError } from './errors.ts'

/** Marks a value sealed with AES-256-GCM under a key derived from MIDA_SECRET_KEY (format 1). */
export const SEALED_PREFIX = 'enc:v1:'

const IV_BYTES = 12
const TAG_BYTES = 16
/** A fixed salt: the key must be the same on every start, and MIDA_SECRET_KEY is random text. */
const KDF_SALT = 'mida-export secrets v1'

/** A stored secret that cannot be used: sealed, and MIDA_SECRET_KEY missing or different (503). */
export class SecretUnavailable extends AppError {
  constructor(what: string, reason: 'missing' | 'wrong' | 'missing or wrong') {
    const why = {
      missing: 'MIDA_SECRET_KEY is not set',
      wrong: 'MIDA_SECRET_KEY is not the key it was saved with',
      'missing or wrong': 'MIDA_SECRET_KEY is not set or is not the key it was saved with',
    }[reason]
    super(
      503,
      `${what} is stored encrypted and cannot be decrypted: ${why} (set that key, or enter the secret again)`,
    )
  }
}

const derived = new Map<string, Buffer>()

/** The AES key for a MIDA_SECRET_KEY (scrypt, worked out once per process). */
function aesKey(secretKey: string): Buffer {
  let key = derived.get(secretKey)
  if (!key) {
    key = scryptSync(secretKey, KDF_SALT, 32, { N: 16_384, r: 8, p: 1 })
    derived.set(secretKey, key)
  }
  return key
}

/** True for a value written by sealSecret with a key. */
export function isSealed(stored: string): boolean {
  return stored.startsWith(SEALED_PREFIX)
}

/**
 * The value to store for a secret: `enc:v1:IV:CIPHERTEXT+TAG` (base64url, random IV) when a
 * key is set; without a key, or for an empty value (= not set), the value itself.
 */
export function sealSecret(plain: string, secretKey: string | undefined): string {
  if (!secretKey || plain === '') return plain
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', aesKey(secretKey), iv)
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return `${SEALED_PREFIX}${iv.toString('base64url')}:${body.toString('base64url')}`
}

/**
 * The secret a stored value holds. A plaintext value (saved before a key was set) is returned
 * as is; a sealed one is decrypted, or SecretUnavailable names what is wrong with the key.
 */
export function openSecret(
  stored: string,
  secretKey: string | undefined,
  what = 'The secret',
): string {
  if (!isSealed(stored)) return stored
  if (!secretKey) throw new SecretUnavailable(what, 'missing')
  const [ivText, bodyText] = stored.slice(SEALED_PREFIX.length).split(':')
  const iv = Buffer.from(ivText ?? '', 'base64url')
  const body = Buffer.from(bodyText ?? '', 'base64url')
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new SecretUnavailable(what, 'wrong')
  try {
    const decipher = createDecipheriv('aes-256-gcm', aesKey(secretKey), iv)
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
    return Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8')
  } catch {
    throw new SecretUnavailable(what, 'wrong')
  }
}

/**
 * openSecret for reading settings, which must not fail as a whole: a value that cannot be
 * opened is returned sealed, and `requireSecret` refuses it where the secret is used.
 */
export function revealSecret(stored: string, secretKey: string | undefined): string {
  try {
    return openSecret(stored, secretKey)
  } catch (err) {
    if (err instanceof SecretUnavailable) return stored
    throw err
  }
}

/**
 * A secret from readSettings about to be used: still sealed means revealSecret could not open
 * it, so this throws SecretUnavailable naming the secret.
 */
export function requireSecret(value: string, what: string): string {
  if (isSealed(value)) throw new SecretUnavailable(what, 'missing or wrong')
  return value
}

/**
 * MIDA_SECRET_KEY as the settings use it: every stored secret is sealed and opened through one
 * of these, which the connection is given when it is opened (openDatabase), so no path can
 * save a secret without the configured key.
 */
export class Secrets {
  constructor(private readonly secretKey: string | undefined) {}

  /** True when a key is configured (secrets are stored sealed). */
  get sealing(): boolean {
    return this.secretKey !== undefined && this.secretKey !== ''
  }

  /** The value to store for a secret (sealSecret with this key). */
  seal(plain: string): string {
    return sealSecret(plain, this.secretKey)
  }

  /** A stored secret as readSettings returns it (revealSecret with this key). */
  reveal(stored: string): string {
    return revealSecret(stored, this.secretKey)
  }
}
