import pkg from '../package.json' with { type: 'json' }

/** The version printed by `--version` and `/healthz`. */
export const VERSION: string = pkg.version
