import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import {
  adoptAdminEmail,
  countAdmins,
  createOrResetAdmin,
  issueSetupToken,
  listAdmins,
  SETUP_TOKEN_TTL_MS,
} from '../domain/admins.ts'
import { CLI_ACTOR, ENV_ACTOR, recordAudit } from '../domain/audit.ts'
import type { Clock } from '../domain/clock.ts'
import { initialiseSettingsOn } from '../domain/settings.ts'
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
      const first = countAdmins(rt.db) === 0
      const { admin, created } = await createOrResetAdmin(rt.db, email, password, rt.clock)
      if (first && created) adoptAdminEmail(rt.db, admin.email, rt.clock)
      recordAudit(
        rt.db,
        {
          storeId: rt.store.id,
          actor: CLI_ACTOR,
          address: null,
          action: created ? 'admin.created' : 'admin.reset',
          detail: admin.email,
        },
        rt.clock,
      )
      print(rt, { id: admin.id, email: admin.email, created }, () =>
        created
          ? `Created admin ${admin.email}. Log in at ${rt.config.baseUrl}/login`
          : `Reset the password of ${admin.email} (its sessions were ended). Log in at ${rt.config.baseUrl}/login`,
      )
      return 0
    }
    case 'list': {
      const admins = listAdmins(rt.db)
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
  db: Database,
  config: Config,
  clock: Clock,
  log: (line: string) => void,
): Promise<void> {
  if (countAdmins(db) > 0) return
  if (config.adminEmail && config.adminPassword) {
    const { admin } = await createOrResetAdmin(db, config.adminEmail, config.adminPassword, clock)
    const store = ensureDefaultStore(db, clock)
    // Seeded first, so the store email below is not taken for an initialised store.
    initialiseSettingsOn(db, store.id, clock)
    adoptAdminEmail(db, admin.email, clock)
    recordAudit(
      db,
      {
        storeId: store.id,
        actor: ENV_ACTOR,
        address: null,
        action: 'admin.created',
        detail: admin.email,
      },
      clock,
    )
    log(`Created admin ${admin.email} from MIDA_ADMIN_EMAIL/MIDA_ADMIN_PASSWORD.`)
    return
  }
  if (config.adminEmail || config.adminPassword) {
    log('MIDA_ADMIN_EMAIL and MIDA_ADMIN_PASSWORD must both be set to create the first admin.')
  }
  const { token } = issueSetupToken(db, clock)
  log(
    `No admin yet. Open this one-time link within ${SETUP_TOKEN_TTL_MS / 60_000} minutes to create one:\n\n  ${config.baseUrl}/setup?token=${token}\n\n(or run: mida-export admin create --email E --password P)`,
  )
}
