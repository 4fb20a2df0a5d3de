import { type AuditActor, CLI_ACTOR } from '../domain/audit.ts'
import { nowMs } from '../domain/clock.ts'
import type { ApiKey, IssuedKey } from '../domain/keys.ts'
import {
  createApiKey,
  keyState,
  listApiKeys,
  parseExpiry,
  parseGrace,
  regenerateApiKey,
  revokeApiKey,
} from '../domain/keys.ts'
import { readSettings } from '../domain/settings.ts'
import { type OptionSpec, type Parsed, STORE_OPTION, str } from './args.ts'
import { UsageError } from './io.ts'
import { isoOrDash, print, type StoreRuntime, table } from './runtime.ts'

export const KEYS_HELP = `Usage: mida-export keys <create|list|revoke|regenerate> [options]

  keys create --name NAME [--scope export|ingest|report] [--expires 90d|YYYY-MM-DD]
                                  create a key and print it once
  keys list                       id, name, scope, prefix, state, created, last used, expires, revoked
  keys revoke ID|NAME             revoke a key (the old key of a grace period, by ID: at once)
  keys regenerate ID|NAME [--grace 24h]
                                  revoke a key and print its replacement once; with --grace the
                                  old key keeps answering that long (default 0)

Scopes: export (the sync and report APIs), ingest (imports), report (reports only, read-only;
the one scope accepted as ?token= in a link). --expires YYYY-MM-DD: the key stops at the start of
that day in the store's time zone.

Options: --store SLUG (required when the server holds several stores), --json (one JSON
document on stdout), --data-dir DIR`

function keyJson(k: ApiKey, now: number) {
  return {
    id: k.id,
    name: k.name,
    scope: k.scope,
    prefix: k.prefix,
    state: keyState(k, now),
    created_at: isoOrDash(k.createdAt),
    last_used_at: k.lastUsedAt === null ? null : isoOrDash(k.lastUsedAt),
    expires_at: k.expiresAt === null ? null : isoOrDash(k.expiresAt),
    revoked_at: k.revokedAt === null ? null : isoOrDash(k.revokedAt),
  }
}

function issuedJson({ key, secret }: IssuedKey) {
  return {
    id: key.id,
    name: key.name,
    scope: key.scope,
    key: secret,
    prefix: key.prefix,
    created_at: isoOrDash(key.createdAt),
    // Beyond the contract's fields only for a key that expires.
    ...(key.expiresAt === null ? {} : { expires_at: isoOrDash(key.expiresAt) }),
  }
}

function issuedText({ key, secret }: IssuedKey, verb: string): string {
  const expires = key.expiresAt === null ? '' : ` It expires ${isoOrDash(key.expiresAt)}.`
  return [
    `${verb} key ${key.id} "${key.name}" (scope ${key.scope}). Copy it now: it is not shown again.${expires}`,
    '',
    `  ${secret}`,
  ].join('\n')
}

export const KEYS_OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTION,
  name: { type: 'string' },
  scope: { type: 'string' },
  expires: { type: 'string' },
  grace: { type: 'string' },
}

/** `keys create|list|revoke|regenerate`. */
export async function runKeys(rt: StoreRuntime, p: Parsed): Promise<number> {
  const { data, store, clock } = rt
  // What the command line does is audited as `cli`, in the action's transaction.
  const by: AuditActor = { storeId: store.id, actor: CLI_ACTOR, address: null }
  const [action, ref] = p.positionals
  switch (action) {
    case 'create': {
      const name = str(p, 'name') ?? ref
      if (!name) throw new UsageError('keys create needs --name NAME')
      const expires = str(p, 'expires')
      const expiresAt =
        expires === undefined
          ? null
          : parseExpiry(expires, nowMs(clock), (await readSettings(data, store)).timezone)
      const scope = str(p, 'scope') ?? 'export'
      const issued = await createApiKey(data, store, name, scope, clock, by, { expiresAt })
      print(rt, issuedJson(issued), () => issuedText(issued, 'Created'))
      return 0
    }
    case 'list': {
      const keys = await listApiKeys(data, store)
      const now = nowMs(clock)
      print(
        rt,
        keys.map((k) => keyJson(k, now)),
        () =>
          keys.length === 0
            ? 'No keys yet. Create one with: mida-export keys create --name NAME'
            : table(
                [
                  'ID',
                  'NAME',
                  'SCOPE',
                  'PREFIX',
                  'STATE',
                  'CREATED',
                  'LAST USED',
                  'EXPIRES',
                  'REVOKED',
                ],
                keys.map((k) => [
                  String(k.id),
                  k.name,
                  k.scope,
                  `${k.prefix}…`,
                  keyState(k, now),
                  isoOrDash(k.createdAt),
                  isoOrDash(k.lastUsedAt),
                  isoOrDash(k.expiresAt),
                  isoOrDash(k.revokedAt),
                ]),
              ),
      )
      return 0
    }
    case 'revoke': {
      if (!ref) throw new UsageError('keys revoke needs an ID or NAME')
      const key = await revokeApiKey(data, store, ref, clock, by)
      print(rt, keyJson(key, nowMs(clock)), () => `Revoked key ${key.id} "${key.name}".`)
      return 0
    }
    case 'regenerate': {
      if (!ref) throw new UsageError('keys regenerate needs an ID or NAME')
      const grace = str(p, 'grace')
      const graceMs = grace === undefined ? 0 : parseGrace(grace)
      const issued = await regenerateApiKey(data, store, ref, clock, by, { graceMs })
      const until = isoOrDash(nowMs(clock) + graceMs)
      const old = graceMs > 0 ? `\nThe old key keeps answering until ${until}.` : ''
      print(rt, issuedJson(issued), () => issuedText(issued, 'Regenerated') + old)
      return 0
    }
    default:
      throw new UsageError(
        action
          ? `Unknown keys command: ${action}`
          : 'keys needs a command: create, list, revoke or regenerate',
      )
  }
}
