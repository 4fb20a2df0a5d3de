import { parseArgs } from 'node:util'
import { CONFIG_FLAGS } from '../config.ts'
import { UsageError } from './io.ts'

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** Given several times (`--store a --store b`): a list. */
  multiple?: boolean
}

/** Options every command accepts: configuration flags, `--json`, `--help`. */
const COMMON: Record<string, OptionSpec> = {
  ...Object.fromEntries(
    CONFIG_FLAGS.map((f) => [
      f,
      { type: f === 'trust-proxy' ? 'boolean' : 'string' } as OptionSpec,
    ]),
  ),
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
}

/**
 * `--trust-proxy` alone means one proxy; `--trust-proxy=N` or `--trust-proxy N` (a number, true
 * or false) gives the count. parseArgs has no optional values, so that one is taken out first.
 */
function takeTrustProxy(args: string[]): { rest: string[]; value: string | undefined } {
  const rest: string[] = []
  let value: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      rest.push(...args.slice(i))
      break
    }
    if (arg.startsWith('--trust-proxy=')) value = arg.slice('--trust-proxy='.length)
    else if (arg === '--trust-proxy') {
      const next = args[i + 1]
      if (next !== undefined && /^(\d+|true|false|yes|no)$/i.test(next)) {
        value = next
        i++
      } else value = 'true'
    } else rest.push(arg)
  }
  return { rest, value }
}

/** Parses a command's arguments, turning unknown options into a UsageError that names them. */
export function parse(args: string[], options: Record<string, OptionSpec> = {}): Parsed {
  try {
    const trustProxy = takeTrustProxy(args)
    const { values, positionals } = parseArgs({
      args: trustProxy.rest,
      options: { ...COMMON, ...options },
      allowPositionals: true,
      strict: true,
    })
    const parsed = values as Parsed['values']
    if (trustProxy.value !== undefined) parsed['trust-proxy'] = trustProxy.value
    return { values: parsed, positionals }
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify.*$/s, ''))
  }
}

/** A string option's value, or undefined. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name]
  return typeof v === 'string' ? v : undefined
}

/** The values of an option given several times (`multiple`), in order; empty when absent. */
export function strs(p: Parsed, name: string): string[] {
  const v = p.values[name]
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
}

/** `--store SLUG`: the store a store-scoped command acts on. */
export const STORE_OPTION: Record<string, OptionSpec> = { store: { type: 'string' } }
