// Start-up: the compiled binary, from exec to its first /healthz answer, on a 1 M-session store.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { OUT, report, rssMb } from './lib.ts'
import { benchStore } from './sync.ts'

const ROOT = join(import.meta.dir, '..')
const binary = join(ROOT, 'dist', 'mida-export')
if (!existsSync(binary)) {
  const built = Bun.spawnSync([process.execPath, 'run', 'build'], {
    cwd: ROOT,
    stdout: 'inherit',
    stderr: 'inherit',
  })
  if (built.exitCode !== 0) throw new Error('build failed')
}
const { db } = await benchStore(1_000_000)
db.close()
const dataDir = join(OUT, 'store-1000000')

async function once(port: number): Promise<{ ms: number; rss: number }> {
  const started = performance.now()
  const child = Bun.spawn([binary, 'serve', '--port', String(port), '--data-dir', dataDir], {
    stdout: 'ignore',
    stderr: 'ignore',
  })
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`)
        if (res.ok) {
          const ms = performance.now() - started
          await Bun.sleep(500)
          return { ms, rss: rssMb(child.pid) }
        }
      } catch {}
      if (performance.now() - started > 10_000) throw new Error('no answer within 10 s')
      await Bun.sleep(2)
    }
  } finally {
    child.kill('SIGTERM')
    await child.exited
  }
}

const runs: { ms: number; rss: number }[] = []
for (let i = 0; i < 5; i++) runs.push(await once(18090 + i))
const times = runs.map((r) => r.ms).sort((a, b) => a - b)
const median = times[2]!
report(
  'start-up to first /healthz (binary, 1 M sessions)',
  `${median.toFixed(0)} ms (median of 5)`,
  '<= 300 ms',
  median <= 300,
)
const idle = Math.max(...runs.map((r) => r.rss))
report(
  'server idle RSS after start-up (1 M sessions)',
  `${idle.toFixed(0)} MB (worst of ${runs.map((r) => r.rss.toFixed(1)).join(', ')})`,
  '<= 60 MB',
  idle <= 60,
)

const tracker = await Bun.file(join(ROOT, 'src', 'tracker', 'mida.js')).arrayBuffer()
const gz = Bun.gzipSync(new Uint8Array(tracker)).byteLength
report('tracker size gzipped', `${gz} bytes`, '<= 2048 bytes', gz <= 2048)
