// Builds dist/mida-export: one executable with the code, views, CSS, htmx and tracker embedded.
import { mkdirSync } from 'node:fs'

mkdirSync('dist', { recursive: true })
const proc = Bun.spawnSync(
  [
    process.execPath,
    'build',
    '--compile',
    '--minify',
    'src/main.ts',
    '--outfile',
    'dist/mida-export',
  ],
  { stdout: 'inherit', stderr: 'inherit' },
)
process.exit(proc.exitCode ?? 1)
