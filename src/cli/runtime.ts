import { type Config, loadConfig } from '../config.ts'
import { type Database, openDatabase } from '../db/database.ts'
import type { Clock } from '../domain/clock.ts'
import { bindSecretKey } from '../domain/secrets.ts'
import { initialiseSettings, sealPlaintextSecrets } from '../domain/settings.ts'
import { ensureDefaultStore, type Store } from '../domain/stores.ts'
import type { Parsed } from './args.ts'
import type { Io } from './io.ts'

/** What a command works with: the layered config, the open database, the store, the clock. */
export interface Runtime {
  config: Config
  db: Database
  store: Store
  clock: Clock
  io: Io
  json: boolean
}

/** Loads the configuration and opens the data directory for a command. */
export function openRuntime(parsed: Parsed, io: Io, clock: Clock): Runtime {
  const config = loadConfig({ flags: parsed.values, env: io.env, cwd: io.cwd })
  const db = openDatabase(config.dataDir, (line) => io.err(`${line}\n`))
  bindSecretKey(db, config.secretKey)
  sealPlaintextSecrets(db, (line) => io.err(`${line}\n`))
  const store = ensureDefaultStore(db, clock)
  initialiseSettings(db, store.id, clock)
  return { config, db, store, clock, io, json: parsed.values.json === true }
}

/** Prints one JSON document (with `--json`) or the human text. */
export function print(rt: Runtime, data: unknown, human: () => string): void {
  rt.io.out(rt.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`)
}

/** Formats epoch ms as an ISO time in UTC, or a dash. */
export function isoOrDash(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Lays out rows as aligned columns under a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
