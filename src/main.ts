#!/usr/bin/env bun
import { ADMIN_HELP, ADMIN_OPTIONS, runAdmin } from './cli/admin.ts'
import { type OptionSpec, type Parsed, parse, STORE_OPTION } from './cli/args.ts'
import {
  BACKUP_HELP,
  BACKUP_OPTIONS,
  DEMO_HELP,
  DEMO_OPTIONS,
  IMPORT_HELP,
  runBackup,
  runDemo,
  runImport,
  runSettings,
  runStats,
  runSync,
  SETTINGS_HELP,
  STATS_HELP,
  STATS_OPTIONS,
  SYNC_HELP,
  SYNC_OPTIONS,
} from './cli/data.ts'
import { DB_HELP, DB_OPTIONS, runDb } from './cli/db.ts'
import { DESTINATIONS_HELP, DESTINATIONS_OPTIONS, runDestinations } from './cli/destinations.ts'
import { type Io, processIo, RefusedError, UsageError } from './cli/io.ts'
import { KEYS_HELP, KEYS_OPTIONS, runKeys } from './cli/keys.ts'
import { commandStore, openRuntime, type Runtime } from './cli/runtime.ts'
import { runServe, SERVE_HELP } from './cli/serve.ts'
import { runStores, STORES_HELP, STORES_OPTIONS } from './cli/stores.ts'
import { ConfigError } from './config.ts'
import { closeCore } from './core.ts'
import { isBusy } from './db/database.ts'
import { type Clock, systemClock } from './domain/clock.ts'
import { AppError } from './domain/errors.ts'
import { VERSION } from './version.ts'

interface Command {
  help: string
  options?: Record<string, OptionSpec>
  run(rt: Runtime, p: Parsed): number | Promise<number>
  /** Acts on one store (`--store SLUG`, or the only one): `run` is then given the store. */
  storeScoped?: boolean
  /** A command that opens its databases itself, without the core (`db`). */
  bare?: (p: Parsed, io: Io) => Promise<number>
}

const coreless = (): number => {
  throw new Error('this command opens its databases itself')
}

/** Every command; `serve` is the default. */
export const COMMANDS: Record<string, Command> = {
  serve: { help: SERVE_HELP, run: runServe },
  admin: { help: ADMIN_HELP, options: ADMIN_OPTIONS, run: runAdmin },
  stores: { help: STORES_HELP, options: STORES_OPTIONS, run: runStores },
  keys: { help: KEYS_HELP, options: KEYS_OPTIONS, run: runKeys, storeScoped: true },
  settings: { help: SETTINGS_HELP, options: STORE_OPTION, run: runSettings, storeScoped: true },
  import: { help: IMPORT_HELP, options: STORE_OPTION, run: runImport, storeScoped: true },
  sync: { help: SYNC_HELP, options: SYNC_OPTIONS, run: runSync, storeScoped: true },
  stats: { help: STATS_HELP, options: STATS_OPTIONS, run: runStats, storeScoped: true },
  demo: { help: DEMO_HELP, options: DEMO_OPTIONS, run: runDemo, storeScoped: true },
  destinations: {
    help: DESTINATIONS_HELP,
    options: DESTINATIONS_OPTIONS,
    run: runDestinations,
    storeScoped: true,
  },
  backup: { help: BACKUP_HELP, options: BACKUP_OPTIONS, run: runBackup },
  db: { help: DB_HELP, options: DB_OPTIONS, run: coreless, bare: runDb },
}

export const MAIN_HELP = `mida-export ${VERSION}: your store's analytics, exported from your own machine.

Usage: mida-export [command] [options]

Commands:
  serve (default)     run the HTTP server and the scheduler
  admin               create an admin or reset its password (--store: limit it)
  stores              list, create or delete the stores this server holds
  keys                create, list, revoke or regenerate API keys
  settings            print or change the store settings
  import              import sessions or orders (NDJSON; orders also Shopify CSV)
  sync                run a sync now and print the API's JSON body
  stats               print the metrics for any range of days
  demo                fill the store with realistic demo data
  destinations        add, list, remove or test webhooks and Slack destinations
  backup FILE         write a verified copy of the live database (--keep N: daily)
  db                  migrate the database, or copy the installation to another (PostgreSQL)

Options for every command:
  --data-dir DIR      where mida.sqlite lives (env MIDA_DATA_DIR, default ./data)
  --database-url URL  run on PostgreSQL instead (env MIDA_DATABASE_URL, postgres://…)
  --json              print exactly one JSON document on stdout
  --help, -h          help for a command
  --version           print the version

Store commands (keys, settings, import, sync, stats, demo, destinations) take --store SLUG; with
one store it may be left out, with several it is required.

Server options: --port N (PORT, 8080), --host ADDR (HOST, 127.0.0.1), --base-url URL
(MIDA_BASE_URL), --trust-proxy[=N] (MIDA_TRUST_PROXY, N proxies in front).
Run "mida-export COMMAND --help" for more.`

/** What the CLI says when another process holds the database past the busy timeout. */
export const BUSY_TEXT =
  'another process holds the database (an import into an empty store keeps it until it ends); try again when it is done'

/** Runs the command line; returns the exit code. Tests call it in-process with their own Io. */
export async function runCli(
  argv: string[],
  io: Io = processIo(),
  clock: Clock = systemClock,
): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.out(`${VERSION}\n`)
    return 0
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(`${MAIN_HELP}\n`)
    return 0
  }
  const name = argv[0] === undefined || argv[0].startsWith('-') ? 'serve' : argv[0]
  const rest = name === argv[0] ? argv.slice(1) : argv
  const command = COMMANDS[name]
  if (!command) {
    io.err(`Unknown command: ${name}\nRun "mida-export --help" for the list of commands.\n`)
    return 2
  }
  let rt: Runtime | undefined
  try {
    const parsed = parse(rest, command.options)
    if (parsed.values.help) {
      io.out(`${command.help}\n`)
      return 0
    }
    if (command.bare) return await command.bare(parsed, io)
    rt = await openRuntime(parsed, io, clock)
    if (command.storeScoped) Object.assign(rt, { store: await commandStore(rt, parsed) })
    return await command.run(rt, parsed)
  } catch (err) {
    if (err instanceof RefusedError) {
      io.err(`Error: ${err.message}\n`)
      return 2
    }
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${command.help}\n`)
      return 2
    }
    if (err instanceof AppError || err instanceof ConfigError) {
      io.err(`Error: ${err.message}\n`)
      return 1
    }
    if (isBusy(err)) {
      io.err(`Error: ${BUSY_TEXT}\n`)
      return 1
    }
    io.err(`Error: ${(err as Error).message ?? String(err)}\n`)
    return 1
  } finally {
    if (rt && name !== 'serve') await closeCore(rt)
  }
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2))
}
