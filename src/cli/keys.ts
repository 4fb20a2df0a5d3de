import { type AuditActor, CLI_ACTOR } from '../domain/audit.ts'
import type { ApiKey, IssuedKey } from '../domain/keys.ts'
import { createApiKey, listApiKeys, regenerateApiKey, revokeApiKey } from '../domain/keys.ts'
import { type OptionSpec, type Parsed, STORE_OPTION, str } from './args.ts'
import { UsageError } from './io.ts'
import { isoOrDash, print, type StoreRuntime, table } from './runtime.ts'

export const KEYS_HELP = `Usage: mida-export keys <create|list|revoke|regenerate> [options]

  keys create --name NAME [--scope export|ingest]   create a key and print it once
  keys list                                         id, name, scope, prefix, created, last used, revoked
  keys revoke ID|NAME                               revoke a key
  keys regenerate ID|NAME                           revoke a key and print its replacement once

Options: --store SLUG (required when the server holds several stores), --json (one JSON
document on stdout), --data-dir DIR`

function keyJson(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    scope: k.scope,
    prefix: k.prefix,
    created_at: isoOrDash(k.createdAt),
    last_used_at: k.lastUsedAt === null ? null : isoOrDash(k.lastUsedAt),
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
  }
}

function issuedText({ key, secret }: IssuedKey, verb: string): string {
  return [
    `${verb} key ${key.id} "${key.name}" (scope ${key.scope}). Copy it now: it is not shown again.`,
    '',
    `  ${secret}`,
  ].join('\n')
}

export const KEYS_OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTION,
  name: { type: 'string' },
  scope: { type: 'string' },
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
      const issued = await createApiKey(data, store, name, str(p, 'scope') ?? 'export', clock, by)
      print(rt, issuedJson(issued), () => issuedText(issued, 'Created'))
      return 0
    }
    case 'list': {
      const keys = await listApiKeys(data, store)
      print(rt, keys.map(keyJson), () =>
        keys.length === 0
          ? 'No keys yet. Create one with: mida-export keys create --name NAME'
          : table(
              ['ID', 'NAME', 'SCOPE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'],
              keys.map((k) => [
                String(k.id),
                k.name,
                k.scope,
                `${k.prefix}…`,
                isoOrDash(k.createdAt),
                isoOrDash(k.lastUsedAt),
                isoOrDash(k.revokedAt),
              ]),
            ),
      )
      return 0
    }
    case 'revoke': {
      if (!ref) throw new UsageError('keys revoke needs an ID or NAME')
      const key = await revokeApiKey(data, store, ref, clock, by)
      print(rt, keyJson(key), () => `Revoked key ${key.id} "${key.name}".`)
      return 0
    }
    case 'regenerate': {
      if (!ref) throw new UsageError('keys regenerate needs an ID or NAME')
      const issued = await regenerateApiKey(data, store, ref, clock, by)
      print(rt, issuedJson(issued), () => issuedText(issued, 'Regenerated'))
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
