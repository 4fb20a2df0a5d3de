// The test command (`npm test`): the suite on SQLite and, at the same time, the same suite on
// PostgreSQL in a throw-away cluster of its own (test/pg/cluster.ts), stopped at the end. Arguments after the
// options go to `bun test` (file filters, -t). `--engine sqlite|postgres` runs one half only.
// Without PostgreSQL's server programs the PostgreSQL half is skipped, saying why; under CI
// (CI=true) that is a failure instead.
import { findPgBin, startCluster } from '../test/pg/cluster.ts'

const args = process.argv.slice(2)
let engine: 'both' | 'sqlite' | 'postgres' = 'both'
const at = args.indexOf('--engine')
if (at !== -1) {
  const value = args[at + 1]
  if (value !== 'sqlite' && value !== 'postgres' && value !== 'both') {
    console.error('--engine takes sqlite, postgres or both')
    process.exit(2)
  }
  engine = value
  args.splice(at, 2)
}

/**
 * Runs `bun test` for one engine. Its output is kept and printed whole when it ends (the halves
 * run at once, and their lines would interleave).
 */
async function run(label: string, env: Record<string, string>): Promise<number> {
  const child = Bun.spawn([process.execPath, 'test', '--timeout', '30000', ...args], {
    env: { ...process.env, ...env },
    stdin: 'inherit',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  process.stdout.write(`\n=== The suite on ${label} ===\n\n${out}${err}`)
  return code
}

let failed = false
// Both halves at once: the PostgreSQL half waits on its server much of the time, so together
// they take little longer than the longer half alone.
const sqliteHalf =
  engine !== 'postgres' ? run('SQLite', { MIDA_TEST_ENGINE: 'sqlite' }) : Promise.resolve(0)

if (engine !== 'sqlite') {
  const bin = findPgBin()
  if (!bin) {
    const why =
      "no PostgreSQL 14+ server programs were found (/usr/lib/postgresql/N/bin; install Debian's postgresql package, or set MIDA_PG_BIN)"
    if (process.env.CI === 'true' || engine === 'postgres') {
      console.error(`\nThe PostgreSQL half cannot run: ${why}`)
      failed = true
    } else console.log(`\n=== The suite on PostgreSQL: SKIPPED: ${why} ===`)
  } else {
    const cluster = await startCluster(bin)
    // Interrupted (Ctrl-C), the cluster is stopped and removed all the same.
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.on(signal, () => {
        cluster.stop()
        process.exit(130)
      })
    try {
      const code = await run(`PostgreSQL (a throw-away cluster on port ${cluster.port})`, {
        MIDA_TEST_ENGINE: 'postgres',
        MIDA_TEST_DATABASE_URL: cluster.url,
      })
      if (code !== 0) failed = true
    } finally {
      cluster.stop()
    }
  }
}
if ((await sqliteHalf) !== 0) failed = true
process.exit(failed ? 1 : 0)
