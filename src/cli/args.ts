import { parseArgs } from 'node:util'
import { CONFIG_FLAGS } from '../config.ts'
import { UsageError } from './io.ts'

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
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
  values: Record<string, string | boolean | undefined>
  positionals: string[]
}

/** Parses a command's arguments, turning unknown options into a UsageError that names them. */
export function parse(args: string[], options: Record<string, OptionSpec> = {}): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...COMMON, ...options },
      allowPositionals: true,
      strict: true,
    })
    return { values: values as Parsed['values'], positionals }
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify.*$/s, ''))
  }
}

/** A string option's value, or undefined. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name]
  return typeof v === 'string' ? v : undefined
}
