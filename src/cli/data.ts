import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { ingestEngine } from '../db/ingest.ts'
import { auditSettingsChange, CLI_ACTOR } from '../domain/audit.ts'
import { backupDatabase, backupDay, dailyBackup } from '../domain/backup.ts'
import { importOrders } from '../domain/csv.ts'
import { generateDemo } from '../domain/demo.ts'
import { InvalidInput } from '../domain/errors.ts'
import { importNdjson } from '../domain/ingest/ndjsonImport.ts'
import type { ImportSummary } from '../domain/ingest/summary.ts'
import { computeMetrics } from '../domain/metrics.ts'
import type { RecordKind } from '../domain/ndjson.ts'
import { dayRange, parseDate, storeDate } from '../domain/periods.ts'
import { readSettings, updateSettings } from '../domain/settings.ts'
import { displaySettings } from '../domain/settingsForm.ts'
import { syncPeriod } from '../domain/sync.ts'
import { type OptionSpec, type Parsed, STORE_OPTION, str } from './args.ts'
import { UsageError } from './io.ts'
import { print, type Runtime, type StoreRuntime, table } from './runtime.ts'

export const SETTINGS_HELP = `Usage: mida-export settings [set key=value …] [--store SLUG] [--json]

Prints the store settings, or changes them with the same validation as the settings page.
Example: mida-export settings set timezone=America/New_York currency=USD api_enabled=true
With several stores, name one: --store SLUG.`

/** `settings` and `settings set key=value …`. */
export async function runSettings(rt: StoreRuntime, p: Parsed): Promise<number> {
  const [action, ...pairs] = p.positionals
  if (action !== undefined && action !== 'set') {
    throw new UsageError(`Unknown settings command: ${action} (use: settings set key=value …)`)
  }
  if (action === 'set') {
    if (pairs.length === 0) throw new UsageError('settings set needs at least one key=value')
    // No prototype: a key named __proto__ is a (refused) setting name, not the object's prototype.
    const changes: Record<string, string> = Object.create(null)
    for (const pair of pairs) {
      const eq = pair.indexOf('=')
      if (eq <= 0) throw new UsageError(`Expected key=value, got ${JSON.stringify(pair)}`)
      changes[pair.slice(0, eq).trim()] = pair.slice(eq + 1)
    }
    const who = { storeId: rt.store.id, actor: CLI_ACTOR, address: null }
    await updateSettings(rt.data, rt.store, changes, rt.clock, async (q, { before, after }) =>
      auditSettingsChange(q, who, before, after, rt.clock),
    )
  }
  const shown = displaySettings(await readSettings(rt.data, rt.store), rt.store.trackingId)
  print(rt, shown, () =>
    table(
      ['SETTING', 'VALUE'],
      Object.entries(shown).map(([k, v]) => [k, String(v)]),
    ),
  )
  return 0
}

export const IMPORT_HELP = `Usage: mida-export import sessions|orders FILE [--store SLUG] [--json]

Imports NDJSON (one JSON object a line; FILE "-" reads stdin); orders also from Shopify's orders
CSV export (Orders > Export in the Shopify admin), recognised by its header line. Records are
upserted by id, so running the same import twice changes nothing. Bad lines are reported with
their line number and skipped; the command then exits 1. Prints inserted, updated, rejected.
With several stores, name the one the records go to: --store SLUG.`

function summaryText(kind: RecordKind, s: ImportSummary): string {
  const lines = [
    `Imported ${kind}: ${s.inserted} inserted, ${s.updated} updated, ${s.rejected} rejected.`,
  ]
  for (const e of s.errors) lines.push(`  line ${e.line}: ${e.error}`)
  if (s.rejected > s.errors.length) lines.push(`  … and ${s.rejected - s.errors.length} more`)
  return lines.join('\n')
}

/** `import sessions|orders FILE`. */
export async function runImport(rt: StoreRuntime, p: Parsed): Promise<number> {
  const [kind, file] = p.positionals
  if (kind !== 'sessions' && kind !== 'orders') {
    throw new UsageError('import needs a kind: sessions or orders')
  }
  if (!file) throw new UsageError(`import ${kind} needs a FILE (or - for stdin)`)
  if (file !== '-' && !existsSync(file)) throw new InvalidInput(`No such file: ${file}`)
  await ingestEngine(rt.data).prepareBulkImport()
  const stream = file === '-' ? rt.io.stdin() : Bun.file(file).stream()
  const size = file === '-' ? 0 : Bun.file(file).size
  let lastDraw = 0
  const progress = rt.io.isTTY
    ? (lines: number, s: ImportSummary) => {
        const now = performance.now()
        if (now - lastDraw < 100) return
        lastDraw = now
        const done = s.inserted + s.updated
        rt.io.err(
          `\r${kind}: ${lines} lines read, ${done} written, ${s.rejected} rejected${size ? ` (${(size / 1e6).toFixed(1)} MB file)` : ''}   `,
        )
      }
    : undefined
  // orders: NDJSON or Shopify's orders CSV export, told apart by the header line
  const { format, summary } =
    kind === 'orders'
      ? await importOrders(rt.data, rt.store, stream, rt.clock, progress)
      : {
          format: 'ndjson',
          summary: await importNdjson(rt.data, rt.store, kind, stream, rt.clock, {
            onProgress: progress,
            exclusive: true,
            expectedBytes: size || undefined,
          }),
        }
  if (progress) rt.io.err('\n')
  print(rt, { kind, format, ...summary }, () => summaryText(kind, summary))
  return summary.rejected > 0 ? 1 : 0
}

export const SYNC_OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTION,
  frequency: { type: 'string' },
  date: { type: 'string' },
}

export const SYNC_HELP = `Usage: mida-export sync [--frequency daily|weekly] [--date YYYY-MM-DD] [--store SLUG]

Runs a sync now and prints the JSON body the API returns. Without --date: the last completed
period; --frequency overrides the saved sync frequency for this run. As with the API, only a sync
of the last completed period of the saved frequency sends notification emails; an older --date or
another --frequency is a backfill and sends none.`

/** `sync`: the same body as the API, from the command line. */
export async function runSync(rt: StoreRuntime, p: Parsed): Promise<number> {
  const frequency = str(p, 'frequency')
  if (frequency !== undefined && frequency !== 'daily' && frequency !== 'weekly') {
    throw new UsageError(`--frequency must be daily or weekly, got ${JSON.stringify(frequency)}`)
  }
  const date = str(p, 'date')
  const result = await syncPeriod(
    rt.data,
    rt.store,
    {
      frequency,
      date: date === undefined ? undefined : parseDate(date, '--date'),
      trigger: 'cli',
      strictFrequency: false,
    },
    rt.clock,
  )
  rt.io.out(rt.json ? `${result.body}\n` : `${JSON.stringify(JSON.parse(result.body), null, 2)}\n`)
  return 0
}

export const STATS_OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTION,
  from: { type: 'string' },
  to: { type: 'string' },
}

export const STATS_HELP = `Usage: mida-export stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--store SLUG] [--json]

Prints the metrics (the sync "data" object) for whole store days from --from to --to, both
included; today counts so far. Default: today. Records no sync and sends no email.`

/** `stats`: metrics for any range of whole store days. */
export async function runStats(rt: StoreRuntime, p: Parsed): Promise<number> {
  const settings = await readSettings(rt.data, rt.store)
  const today = storeDate(rt.clock.now(), settings.timezone)
  const fromText = str(p, 'from')
  const toText = str(p, 'to')
  const from = fromText ? parseDate(fromText, '--from') : toText ? parseDate(toText, '--to') : today
  const to = toText ? parseDate(toText, '--to') : today
  const period = dayRange(from, to, settings.timezone)
  const data = await computeMetrics(rt.data, rt.store, period)
  print(rt, data, () => {
    const d = data
    return [
      `${settings.store_name}: ${period.label} (${settings.timezone})`,
      `  visitors      ${d.total_visitors} (${d.new_visitors} new, ${d.returning_visitors} returning)`,
      `  sessions      ${d.total_sessions}, ${d.total_pageviews} pageviews, bounce rate ${(d.bounce_rate * 100).toFixed(2)}%`,
      `  orders        ${d.successful_orders}, revenue ${d.total_revenue.toFixed(2)} ${settings.currency}, AOV ${d.average_order_value.toFixed(2)}`,
      `  conversion    ${(d.conversion_rate * 100).toFixed(2)}%`,
      `  funnel        ${d.funnel.sessions} → ${d.funnel.viewed_product} viewed → ${d.funnel.added_to_cart} carted → ${d.funnel.reached_checkout} checkout → ${d.funnel.ordered} ordered`,
      `  abandoned     ${d.abandoned_carts} carts, ${d.abandoned_checkouts} checkouts`,
    ].join('\n')
  })
  return 0
}

export const DEMO_OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTION,
  days: { type: 'string' },
  seed: { type: 'string' },
}

export const DEMO_HELP = `Usage: mida-export demo [--days N] [--seed S] [--store SLUG]

Fills the store with realistic demo sessions and orders for the N days before today (default 30)
and today so far. The same seed and dates give the same data; running it again changes nothing.`

function positiveInt(
  value: string | undefined,
  name: string,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new UsageError(
      `${name} must be a whole number from 0 to ${max}, got ${JSON.stringify(value)}`,
    )
  }
  return n
}

/** `demo`: realistic, deterministic data to try the API with. */
export async function runDemo(rt: StoreRuntime, p: Parsed): Promise<number> {
  const days = positiveInt(str(p, 'days'), '--days', 30, 3650)
  const seed = positiveInt(str(p, 'seed'), '--seed', 1, 2 ** 31)
  const settings = await readSettings(rt.data, rt.store)
  const summary = await generateDemo(rt.data, rt.store, settings.timezone, { days, seed }, rt.clock)
  print(rt, summary, () =>
    [
      `Demo data: ${summary.sessions} sessions and ${summary.orders} orders from ${summary.from} to ${summary.to} (${settings.timezone}).`,
      'Next: mida-export keys create --name demo, mida-export settings set api_enabled=true, then call the API.',
    ].join('\n'),
  )
  return 0
}

export const BACKUP_OPTIONS: Record<string, OptionSpec> = {
  keep: { type: 'string' },
}

export const BACKUP_HELP = `Usage: mida-export backup FILE
       mida-export backup --keep N

SQLite only: on PostgreSQL (MIDA_DATABASE_URL) it exits 2; back up with pg_dump.

Writes a consistent copy of the live database to FILE (VACUUM INTO, safe while the server runs)
and checks it with PRAGMA integrity_check. FILE must not exist.
With --keep N instead of FILE: writes today's backup (store time) to
DATA_DIR/backups/mida-YYYY-MM-DD.sqlite, replacing one from earlier today, and deletes all but
the newest N there (for cron; the server does this itself daily with MIDA_BACKUP_KEEP=N).`

/** `backup FILE` or `backup --keep N`: a consistent, verified copy of the live database. */
export async function runBackup(rt: Runtime, p: Parsed): Promise<number> {
  if (rt.data.engine === 'postgres') {
    rt.io.err(
      'backup copies the SQLite file; on PostgreSQL use pg_dump instead, e.g.\n  pg_dump --format=custom --file=mida.dump "$MIDA_DATABASE_URL"\n',
    )
    return 2
  }
  const [file, extra] = p.positionals
  const keepText = str(p, 'keep')
  if (extra !== undefined) throw new UsageError(`backup takes one FILE, got also ${extra}`)
  if (keepText !== undefined) {
    if (file !== undefined) throw new UsageError('backup takes a FILE or --keep N, not both')
    const keep = positiveInt(keepText, '--keep', 1, 3650)
    if (keep < 1) throw new UsageError('--keep must be at least 1')
    const day = await backupDay(rt.data, rt.clock)
    const result = await dailyBackup(rt.data, rt.config.dataDir, day, keep, true)
    print(
      rt,
      { file: result.file, bytes: result.bytes, integrity_check: 'ok', removed: result.removed },
      () =>
        `Backup written to ${result.file} (${result.bytes} bytes), integrity_check ok.${
          result.removed.length ? ` Removed ${result.removed.join(', ')}.` : ''
        }`,
    )
    return 0
  }
  if (!file) throw new UsageError('backup needs a FILE (or --keep N)')
  const target = resolve(rt.io.cwd, file)
  if (existsSync(target)) throw new InvalidInput(`${file} already exists; choose a new file`)
  const { bytes } = await backupDatabase(rt.data, target)
  print(
    rt,
    { file: target, bytes, integrity_check: 'ok' },
    () => `Backup written to ${target} (${bytes} bytes), integrity_check ok.`,
  )
  return 0
}
