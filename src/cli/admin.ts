import type { Config } from '../config.ts'
import type { Data } from '../db/data.ts'
import {
  type Admin,
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
import { ensureDefaultStore, listStores, storesOfAdmin } from '../domain/stores.ts'
import { type OptionSpec, type Parsed, str, strs } from './args.ts'
import { type Io, UsageError } from './io.ts'
import { isoOrDash, print, type Runtime, storeNamed, table } from './runtime.ts'

export const ADMIN_HELP = `Usage: mida-export admin <create|list> [options]

  admin create --email E --password P   create an admin, or reset the password of an existing
                                        one (which logs it out everywhere); --password - reads
                                        the password from the first line of stdin
      --store SLUG                      limit the admin to this store (repeat for several);
                                        default for a new admin: every store
      --all-stores                      lift an existing admin's limit
  admin list                            the admins' emails and the stores each sees

Options: --json (one JSON document on stdout), --data-dir DIR`

export const ADMIN_OPTIONS: Record<string, OptionSpec> = {
  email: { type: 'string' },
  password: { type: 'string' },
  store: { type: 'string', multiple: true },
  'all-stores': { type: 'boolean' },
}

/**
 * The stores `admin create` limits the admin to: the `--store` slugs' ids, 'all' with
 * `--all-stores`, undefined when neither is given (a new admin sees every store; an existing one
 * keeps its limit). An unknown slug is refused with the list of slugs (exit 2).
 */
async function storeLimit(rt: Runtime, p: Parsed): Promise<number[] | 'all' | undefined> {
  const slugs = [...new Set(strs(p, 'store'))]
  if (p.values['all-stores'] === true) {
    if (slugs.length > 0) throw new UsageError('--store and --all-stores exclude each other')
    return 'all'
  }
  if (slugs.length === 0) return undefined
  const stores = await listStores(rt.data)
  return slugs.map((slug) => storeNamed(stores, slug).id)
}

/** The stores an admin sees, as `admin create|list` print them: 'all', or their slugs. */
async function storesSeen(rt: Runtime, admin: Admin): Promise<'all' | string[]> {
  return admin.allStores ? 'all' : (await storesOfAdmin(rt.data, admin)).map((s) => s.slug)
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
      const limit = await storeLimit(rt, p)
      const first = (await countAdmins(rt.data)) === 0
      const { admin, created } = await createOrResetAdmin(
        rt.data,
        email,
        password,
        rt.clock,
        { storeId: null, actor: CLI_ACTOR, address: null },
        limit,
      )
      if (first && created) await adoptAdminEmail(rt.data, admin, rt.clock)
      const stores = await storesSeen(rt, admin)
      print(rt, { id: admin.id, email: admin.email, created, stores }, () =>
        created
          ? `Created admin ${admin.email}. Log in at ${rt.config.baseUrl}/login`
          : `Reset the password of ${admin.email} (its sessions were ended). Log in at ${rt.config.baseUrl}/login`,
      )
      return 0
    }
    case 'list': {
      const admins = await Promise.all(
        (await listAdmins(rt.data)).map(async (a) => ({
          id: a.id,
          email: a.email,
          created_at: isoOrDash(a.createdAt),
          stores: await storesSeen(rt, a),
        })),
      )
      print(rt, admins, () =>
        admins.length === 0
          ? 'No admin yet. Create one with: mida-export admin create --email E --password P'
          : table(
              ['ID', 'EMAIL', 'CREATED', 'STORES'],
              admins.map((a) => [
                String(a.id),
                a.email,
                a.created_at,
                a.stores === 'all' ? 'all' : a.stores.join(', ') || '(none)',
              ]),
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
    const by = { storeId: null, actor: ENV_ACTOR, address: null }
    const { admin } = await createOrResetAdmin(
      data,
      config.adminEmail,
      config.adminPassword,
      clock,
      by,
    )
    // Seeded first, so the store email below is not taken for an initialised store.
    await initialiseSettings(data, store, clock)
    await adoptAdminEmail(data, admin, clock)
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
