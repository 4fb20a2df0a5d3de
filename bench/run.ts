// Runs every benchmark in turn; each prints its figures beside their targets.
import { join } from 'node:path'

const scripts = [
  'import.ts',
  'sync.ts',
  'migrate.ts',
  'load.ts',
  'collect.ts',
  'startup.ts',
  'postgres.ts',
  'stores.ts',
  'report.ts',
]
const only = process.argv.slice(2)
for (const script of scripts) {
  if (only.length > 0 && !only.some((o) => script.startsWith(o))) continue
  console.log(`\n== ${script}`)
  const p = Bun.spawnSync([process.execPath, join(import.meta.dir, script)], {
    stdout: 'inherit',
    stderr: 'inherit',
    env: process.env,
  })
  if (p.exitCode !== 0) console.log(`${script} exited with ${p.exitCode}`)
}
console.log('\nThe 10-minute soak run is separate: bun bench/soak.ts (SOAK_SECONDS to shorten).')
