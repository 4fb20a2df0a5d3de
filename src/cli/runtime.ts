import { loadConfig } from '../config.ts'
import { type Core, openCore } from '../core.ts'
import type { Clock } from '../domain/clock.ts'
import { listStores, type Store } from '../domain/stores.ts'
import { type Parsed, str } from './args.ts'
import { type Io, RefusedError } from './io.ts'

/** What a command works with: the core (config, database, clock…), its Io and `--json`. */
export interface Runtime extends Core {
  io: Io
  json: boolean
}

/** What a store-scoped command works with: the runtime and the store `--store` named. */
export interface StoreRuntime extends Runtime {
  store: Store
}

/**
 * The store of a store-scoped command: the one `--store SLUG` names, or the only one. With
 * several stores and no `--store`, or an unknown slug, a RefusedError lists the slugs (exit 2).
 */
export async function commandStore(rt: Runtime, p: Parsed): Promise<Store> {
  const stores = await listStores(rt.data)
  const slug = str(p, 'store')
  if (slug !== undefined) return storeNamed(stores, slug)
  if (stores.length === 1) return stores[0] as Store
  throw new RefusedError(
    `This server holds ${stores.length} stores: name one with --store SLUG (${slugsOf(stores)})`,
  )
}

/** The store a `--store` slug names among `stores`; an unknown one is refused, listing them. */
export function storeNamed(stores: readonly Store[], slug: string): Store {
  const store = stores.find((s) => s.slug === slug)
  if (!store) throw new RefusedError(`No store "${slug}". The stores: ${slugsOf(stores)}`)
  return store
}

const slugsOf = (stores: readonly Store[]) => stores.map((s) => s.slug).join(', ')

/** Loads the configuration and opens the core for a command (closeCore closes it). */
export async function openRuntime(parsed: Parsed, io: Io, clock: Clock): Promise<Runtime> {
  const config = loadConfig({ flags: parsed.values, env: io.env, cwd: io.cwd })
  const core = await openCore({ config, clock, log: (line) => io.err(`${line}\n`) })
  return Object.assign(core, { io, json: parsed.values.json === true })
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
