// `serve` prunes the audit log past MIDA_AUDIT_KEEP_DAYS (365 by default) when it starts, in its
// own process with the clock of the data.
import { expect, setDefaultTimeout, test } from 'bun:test'
import { recordAudit } from '../../src/domain/audit.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import {
  dataDirEnv,
  openDataDir,
  peek,
  prepareDataDir,
  spawnCli,
  testScope,
  waitUntil,
} from './child.ts'

setDefaultTimeout(30_000)

const scope = testScope()
const NOW = '2026-11-26T06:00:00Z'

/** A data dir whose audit log holds one entry from each of `daysAgo` days before NOW. */
async function dataDirWithAudit(daysAgo: number[]): Promise<string> {
  const dir = scope.dataDir('mida-audit-keep-')
  await prepareDataDir(dir)
  const data = await openDataDir(dir)
  for (const d of daysAgo) {
    const clock = new FixedClock(Temporal.Instant.from(NOW).subtract({ hours: d * 24 }))
    await recordAudit(
      data,
      { storeId: 1, actor: 'cli', address: null, action: 'login', detail: `${d}` },
      clock,
    )
  }
  await data.close()
  return dir
}

/** The days-ago of the entries left. */
async function kept(dir: string): Promise<number[]> {
  const db = await peek(dir)
  try {
    return (await db.all<{ detail: string }>('SELECT detail FROM audit_log ORDER BY id')).map((r) =>
      Number(r.detail),
    )
  } finally {
    await db.close()
  }
}

test('serve keeps a year of audit log by default, MIDA_AUDIT_KEEP_DAYS days when set', async () => {
  for (const [env, left] of [
    [{}, [300, 2]],
    [{ MIDA_AUDIT_KEEP_DAYS: '30' }, [2]],
    [{ MIDA_AUDIT_KEEP_DAYS: '0' }, [900, 400, 300, 2]],
  ] as const) {
    const dir = await dataDirWithAudit([900, 400, 300, 2])
    const server = await scope.startServer(dir, { now: NOW, env })
    await waitUntil(() => server.stderr().includes('listening on'), 'the server')
    // The prune runs with the background jobs, right after the server listens.
    await waitUntil(
      async () => JSON.stringify(await kept(dir)) === JSON.stringify(left),
      `the audit log pruned to ${left}`,
    )
    server.proc.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(await kept(dir)).toEqual([...left])
  }
})

test('a bad MIDA_AUDIT_KEEP_DAYS stops start-up with a message naming it', async () => {
  const dir = scope.dataDir('mida-audit-bad-')
  const child = spawnCli(['serve', '--port', '0', '--data-dir', dir], {
    env: { ...(await dataDirEnv(dir)), MIDA_AUDIT_KEEP_DAYS: 'a year' },
  })
  expect(await child.exited).toBe(1)
  expect(child.stderr()).toContain(
    'Invalid MIDA_AUDIT_KEEP_DAYS: expected how many days to keep audit log entries, 0 to 36500 (0: forever), got "a year"',
  )
})
