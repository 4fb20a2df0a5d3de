import type { Config } from '../config.ts'
import type { Data } from '../db/data.ts'
import {
  adoptAdminEmail,
  countAdmins,
  createOrResetAdmin,
  issueSetupToken,
  listAdmins,
  SETUP_TOKEN_TTL_MS,
} from '../domain/admins.ts'
import { CLI_ACTOR, ENV_ACTOR } from '../domain/audit.ts'
import type { Clock } from '../domain/clock.ts'
import { initialiseSettings } from '../domain/settings.ts'
import { ensureDefaultStore } from '../domain/stores.ts'
import { type OptionSpec, type Parsed, str } from './args.ts'
import { type Io, UsageError } from './io.ts'
import { isoOrDash, print, type Runtime, table } from './runtime.ts'

export const ADMIN_HELP = `Usage: mida-export admin <create|list> [options]

  admin create --email E --password P   create an admin, or reset the password of an existing
                                        one (which logs it out everywhere); --password - reads
                                        the password from the first line of stdin
  admin list                            the admins' emails

Options: --json (one JSON document on stdout), --data-dir DIR`

export const ADMIN_OPTIONS: Record<string, OptionSpec> = {
  email: { type: 'string' },
  password: { type: 'string' },
}

async function readFirstLine(io: Io): Promise<string> {
  const text = await new Response(io.stdin()).text()
  return text.split(/\r?\n/)[0] ?? ''
}

/** `admin create|list`. */
export async function runAdmin(rt: Runtime, p: Parsed): Promise<number> {
  const [action] = p.positionals
  switch (action) {
    case 'create': {
      const email = str(p, 'email')
      let password = str(p, 'password')
      if (!email) throw new UsageError('admin create needs --email E')
      if (password === undefined) throw new UsageError('admin create needs --password P')
      if (password === '-') password = await readFirstLine(rt.io)
      const first = (await countAdmins(rt.data)) === 0
      const { admin, created } = await createOrResetAdmin(rt.data, email, password, rt.clock, {
        storeId: rt.store.id,
        actor: CLI_ACTOR,
        address: null,
      })
      if (first && created) await adoptAdminEmail(rt.data, admin.email, rt.clock)
      print(rt, { id: admin.id, email: admin.email, created }, () =>
        created
          ? `Created admin ${admin.email}. Log in at ${rt.config.baseUrl}/login`
          : `Reset the password of ${admin.email} (its sessions were ended). Log in at ${rt.config.baseUrl}/login`,
      )
      return 0
    }
    case 'list': {
      const admins = await listAdmins(rt.data)
      print(
        rt,
        admins.map((a) => ({ id: a.id, email: a.email, created_at: isoOrDash(a.createdAt) })),
        () =>
          admins.length === 0
            ? 'No admin yet. Create one with: mida-export admin create --email E --password P'
            : table(
                ['ID', 'EMAIL', 'CREATED'],
                admins.map((a) => [String(a.id), a.email, isoOrDash(a.createdAt)]),
              ),
      )
      return 0
    }
    default:
      throw new UsageError(
        action ? `Unknown admin command: ${action}` : 'admin needs a command: create or list',
      )
  }
}

/**
 * At server start-up, when no admin exists: create one from MIDA_ADMIN_EMAIL and
 * MIDA_ADMIN_PASSWORD, or else print a one-time setup link (valid 30 minutes) to the console.
 */
export async function ensureAdminAtStartup(
  data: Data,
  config: Config,
  clock: Clock,
  log: (line: string) => void,
): Promise<void> {
  if ((await countAdmins(data)) > 0) return
  if (config.adminEmail && config.adminPassword) {
    const store = await ensureDefaultStore(data, clock)
    const by = { storeId: store.id, actor: ENV_ACTOR, address: null }
    const { admin } = await createOrResetAdmin(
      data,
      config.adminEmail,
      config.adminPassword,
      clock,
      by,
    )
    // Seeded first, so the store email below is not taken for an initialised store.
    await initialiseSettings(data, store, clock)
    await adoptAdminEmail(data, admin.email, clock)
    log(`Created admin ${admin.email} from MIDA_ADMIN_EMAIL/MIDA_ADMIN_PASSWORD.`)
    return
  }
  if (config.adminEmail || config.adminPassword) {
    log('MIDA_ADMIN_EMAIL and MIDA_ADMIN_PASSWORD must both be set to create the first admin.')
  }
  const { token } = await issueSetupToken(data, clock)
  log(
    `No admin yet. Open this one-time link within ${SETUP_TOKEN_TTL_MS / 60_000} minutes to create one:\n\n  ${config.baseUrl}/setup?token=${token}\n\n(or run: mida-export admin create --email E --password P)`,
  )
}
