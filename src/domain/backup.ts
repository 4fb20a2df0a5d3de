import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { firstStoreId, writeBackup } from '../db/backup.ts'
import type { Data } from '../db/data.ts'
import { BACKUP_DIR, createPrivateFile, ensurePrivateDir } from '../db/files.ts'
import { PeriodicTask } from '../lib/periodic.ts'
import type { Clock } from './clock.ts'
import { storeDate } from './periods.ts'
import { readSettings } from './settings.ts'

/** How often the backup job looks at the clock (it writes at most one file a store day). */
const BACKUP_INTERVAL_MS = 60_000

const DAILY_NAME = /^mida-(\d{4}-\d{2}-\d{2})\.sqlite$/

/** A written, verified backup. */
export interface BackupResult {
  file: string
  bytes: number
}

/**
 * Writes a consistent copy of the live database to `file` (the engine's: SQLite's `VACUUM INTO`,
 * a read transaction, writers go on meanwhile) and checks it (`PRAGMA integrity_check`). The copy
 * is written next to `file` and renamed into place once checked, so `file` is never half written.
 * `file` is replaced when `replace` is set; otherwise an existing `file` is an error. The copy is
 * 0600 from its first byte: the engine fills the empty private file made for it.
 */
export async function backupDatabase(
  data: Data,
  file: string,
  replace = false,
): Promise<BackupResult> {
  if (!replace && existsSync(file)) throw new Error(`${file} already exists`)
  const partial = `${file}.partial`
  rmSync(partial, { force: true })
  if (!createPrivateFile(partial)) throw new Error(`${partial} is being written by another backup`)
  try {
    await writeBackup(data, partial)
    renameSync(partial, file)
  } finally {
    rmSync(partial, { force: true })
  }
  return { file, bytes: statSync(file).size }
}

/** The daily backup's path for a store day: `DATA_DIR/backups/mida-YYYY-MM-DD.sqlite`. */
export function dailyBackupPath(dataDir: string, day: Temporal.PlainDate): string {
  return join(dataDir, BACKUP_DIR, `mida-${day.toString()}.sqlite`)
}

/**
 * Keeps the newest `keep` daily backups (by the date in their name) in `dir` and deletes the
 * older ones, and any leftover `.partial` file of an interrupted backup. Returns the deleted names.
 */
export function rotateBackups(dir: string, keep: number): string[] {
  if (!existsSync(dir)) return []
  const names = readdirSync(dir)
  const daily = names.filter((n) => DAILY_NAME.test(n)).sort((a, b) => (a < b ? 1 : -1))
  const removed = [
    ...daily.slice(Math.max(0, keep)),
    ...names.filter((n) => n.endsWith('.partial')),
  ]
  for (const name of removed) rmSync(join(dir, name), { force: true })
  return removed
}

/** What `dailyBackup` did. */
export interface DailyBackupResult {
  file: string
  /** False when today's backup existed already (and `replace` was not set). */
  written: boolean
  bytes: number
  removed: string[]
}

/**
 * Writes the backup of the store day `day` into `DATA_DIR/backups` unless it exists (or replaces
 * it with `replace`), then keeps the newest `keep` daily backups.
 */
export async function dailyBackup(
  data: Data,
  dataDir: string,
  day: Temporal.PlainDate,
  keep: number,
  replace = false,
): Promise<DailyBackupResult> {
  const file = dailyBackupPath(dataDir, day)
  let written = false
  if (replace || !existsSync(file)) {
    ensurePrivateDir(join(dataDir, BACKUP_DIR))
    await backupDatabase(data, file, true)
    written = true
  }
  const removed = rotateBackups(join(dataDir, BACKUP_DIR), keep)
  return { file, written, bytes: statSync(file).size, removed }
}

/** The store day used to name backups: today in the time zone of the first store. */
export async function backupDay(data: Data, clock: Clock): Promise<Temporal.PlainDate> {
  const storeId = await firstStoreId(data)
  const timeZone = storeId !== null ? (await readSettings(data, { id: storeId })).timezone : 'UTC'
  return storeDate(clock.now(), timeZone)
}

export interface BackupJobOptions {
  data: Data
  clock: Clock
  dataDir: string
  /** How many daily backups to keep (at least 1). */
  keep: number
  log?: (line: string) => void
}

/**
 * The server's daily backup (`MIDA_BACKUP_KEEP`): each tick writes today's backup if it does not
 * exist yet and keeps the newest `keep`. The first tick runs at start-up.
 */
export class BackupJob {
  private readonly options: BackupJobOptions
  private readonly task = new PeriodicTask(
    () => this.tick(),
    (err) => this.options.log?.(`Daily backup failed: ${err.message}\n`),
  )

  constructor(options: BackupJobOptions) {
    this.options = options
  }

  /** Backs up once if today's file is missing; returns what was done. */
  async tick(): Promise<DailyBackupResult> {
    const { data, clock, dataDir, keep } = this.options
    const result = await dailyBackup(data, dataDir, await backupDay(data, clock), keep)
    if (result.written) {
      this.options.log?.(`Daily backup written to ${result.file} (${result.bytes} bytes)\n`)
    }
    return result
  }

  /** Ticks now, then every interval. */
  start(intervalMs = BACKUP_INTERVAL_MS): void {
    this.task.start(intervalMs)
  }

  /** Stops the timer; a tick under way finishes (its copy is written in one synchronous step). */
  stop(): void {
    this.task.stop()
  }
}
