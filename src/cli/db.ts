import { resolve } from 'node:path'
import { loadConfig } from '../config.ts'
import { CopyRefused, copyDatabase } from '../db/copy.ts'
import type { Data } from '../db/data.ts'
import { MIGRATIONS } from '../db/migrations.ts'
import { openData, redactUrl, schemaVersionOf } from '../db/open.ts'
import type { PgData } from '../db/postgres/data.ts'
import { migratePostgres } from '../db/postgres/migrations.ts'
import type { OptionSpec, Parsed } from './args.ts'
import { str } from './args.ts'
import { type Io, UsageError } from './io.ts'

export const DB_OPTIONS: Record<string, OptionSpec> = {
  to: { type: 'string' },
  from: { type: 'string' },
}

export const DB_HELP = `Usage: mida-export db migrate
       mida-export db copy --to TARGET [--from SOURCE]

migrate  applies the schema migrations the configured database lacks, then exits: for deploys
         that migrate once before starting several nodes (serve migrates too when it starts).
copy     copies the whole installation (every store, key, admin, setting, session, order, sync
         record, outbox row and log) into TARGET, which must be empty (a new database), checks
         every table's row count and prints them. SOURCE defaults to the configured database.

TARGET and SOURCE: postgres://user:password@host:5432/database, or sqlite:DIR for the SQLite
file of data directory DIR (created if missing). Stop the server first: rows written during a
copy may be missed. Sealed secrets are copied sealed: keep the same MIDA_SECRET_KEY.`

/** Where a database is, as `--to`/`--from` name it. */
interface Location {
  label: string
  dataDir: string
  databaseUrl: string | undefined
}

function location(text: string, option: string, cwd: string): Location {
  if (/^postgres(ql)?:\/\//.test(text)) {
    try {
      new URL(text)
    } catch {
      throw new UsageError(`${option} is not a valid URL`)
    }
    return { label: redactUrl(text), dataDir: cwd, databaseUrl: text }
  }
  if (text.startsWith('sqlite:')) {
    const dir = resolve(cwd, text.slice('sqlite:'.length))
    if (dir === cwd && text.length === 'sqlite:'.length)
      throw new UsageError(`${option} sqlite: needs a data directory, as in sqlite:./data-copy`)
    return { label: `SQLite in ${dir}`, dataDir: dir, databaseUrl: undefined }
  }
  throw new UsageError(
    `${option} must be postgres://user:password@host:port/database or sqlite:DIR, got ${JSON.stringify(text)}`,
  )
}

/** The configured database (flags, environment, .env), as a Location. */
function configured(p: Parsed, io: Io): Location {
  const config = loadConfig({ flags: p.values, env: io.env, cwd: io.cwd })
  return config.databaseUrl
    ? {
        label: redactUrl(config.databaseUrl),
        dataDir: config.dataDir,
        databaseUrl: config.databaseUrl,
      }
    : {
        label: `SQLite in ${resolve(io.cwd, config.dataDir)}`,
        dataDir: resolve(io.cwd, config.dataDir),
        databaseUrl: undefined,
      }
}

function secretKeyOf(p: Parsed, io: Io): string | undefined {
  return loadConfig({ flags: p.values, env: io.env, cwd: io.cwd }).secretKey
}

async function open(at: Location, secretKey: string | undefined): Promise<Data> {
  return await openData({ dataDir: at.dataDir, databaseUrl: at.databaseUrl, secretKey })
}

/** `db migrate` and `db copy`: they open databases themselves (not the core: no default store). */
export async function runDb(p: Parsed, io: Io): Promise<number> {
  const [action, extra] = p.positionals
  const json = p.values.json === true
  if (extra !== undefined) throw new UsageError(`Unexpected argument: ${extra}`)
  if (action === 'migrate') {
    const at = configured(p, io)
    const secretKey = secretKeyOf(p, io)
    let applied: number | null = null
    let data: Data
    if (at.databaseUrl) {
      data = await openData({
        dataDir: at.dataDir,
        databaseUrl: at.databaseUrl,
        secretKey,
        migrate: false,
      })
      try {
        applied = await migratePostgres((data as PgData).sql)
      } catch (err) {
        await data.close()
        throw err
      }
    } else data = await open(at, secretKey)
    try {
      const version = await schemaVersionOf(data)
      const latest = Math.max(...MIGRATIONS.map((m) => m.version))
      io.out(
        json
          ? `${JSON.stringify({ database: at.label, engine: data.engine, version, latest, applied })}\n`
          : `${at.label}: schema version ${version} of ${latest}${applied === null ? '' : ` (${applied} applied now)`}\n`,
      )
      return version === latest ? 0 : 1
    } finally {
      await data.close()
    }
  }
  if (action === 'copy') {
    const toText = str(p, 'to')
    if (!toText) throw new UsageError('db copy needs --to TARGET')
    const fromText = str(p, 'from')
    const source = fromText ? location(fromText, '--from', io.cwd) : configured(p, io)
    const target = location(toText, '--to', io.cwd)
    if (source.label === target.label) throw new UsageError('--to names the source itself')
    const secretKey = secretKeyOf(p, io)
    const from = await open(source, secretKey)
    let to: Data
    try {
      to = await open(target, secretKey)
    } catch (err) {
      await from.close()
      throw err
    }
    try {
      const result = await copyDatabase(from, to, (table, rows) => {
        if (!json) io.err(`${table}: ${rows} rows\n`)
      })
      const total = result.tables.reduce((sum, t) => sum + t.rows, 0)
      io.out(
        json
          ? `${JSON.stringify({
              from: source.label,
              to: target.label,
              tables: Object.fromEntries(result.tables.map((t) => [t.name, t.rows])),
              rows: total,
              seconds: Math.round(result.ms) / 1000,
            })}\n`
          : `Copied ${total} rows in ${result.tables.length} tables from ${source.label} to ${target.label} in ${(result.ms / 1000).toFixed(1)} s; every table's count checked.\n`,
      )
      return 0
    } catch (err) {
      if (err instanceof CopyRefused) {
        io.err(`Error: ${err.message}\n`)
        return 1
      }
      throw err
    } finally {
      await to.close()
      await from.close()
    }
  }
  throw new UsageError(
    action === undefined ? 'db needs a command: migrate or copy' : `Unknown db command: ${action}`,
  )
}
