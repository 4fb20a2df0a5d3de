// `mida-export backup FILE` in its own process while a server process takes a steady stream of
// writes: every copy passes integrity_check and holds every write acknowledged before it began.
// Backups are SQLite's: PostgreSQL is backed up with pg_dump.
import { Database } from 'bun:sqlite'
import { expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sqliteOnly } from '../utils.ts'
import {
  dataDirEnv,
  peek,
  postPageview,
  prepareDataDir,
  scalar,
  spawnCli,
  testScope,
  waitUntil,
} from './child.ts'

setDefaultTimeout(30_000)

const scope = testScope()

sqliteOnly(
  'backups taken while the server writes are consistent and hold every acknowledged write (SQLite only)',
  async () => {
    const dir = scope.dataDir('mida-backup-live-')
    const { trackingId, key } = await prepareDataDir(dir, {
      settings: { timezone: 'UTC' },
      keyScope: 'ingest',
    })
    // Two collectors post from 127.0.0.1 as fast as it answers: past the per-address default.
    const server = await scope.startServer(dir, { env: { MIDA_COLLECT_IP_RATE: '1000000' } })

    const ackedVisitors: string[] = []
    let ackedImports = 0
    let stop = false
    const collector = async (worker: number) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const visitor = `live-${worker}-${i}`
        const res = await postPageview(server.url, trackingId, visitor, 'https://s.example/')
        if (res.status === 204) ackedVisitors.push(visitor)
      }
    }
    const importer = async () => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const body = Array.from({ length: 500 }, (_, j) =>
          JSON.stringify({
            id: `bulk-${i}-${j}`,
            visitor_id: `b${j}`,
            started_at: '2026-11-20T10:00:00Z',
          }),
        ).join('\n')
        const res = await fetch(`${server.url}/apiv1/import/sessions`, {
          method: 'POST',
          headers: { 'x-mida-secret-key': key as string },
          body,
        })
        await res.arrayBuffer()
        if (res.status === 200) ackedImports++
      }
    }
    const load = Promise.all([collector(0), collector(1), importer()])
    await waitUntil(() => ackedVisitors.length >= 50, 'the first writes')

    for (const n of [1, 2, 3]) {
      const acked = [...ackedVisitors]
      const importsBefore = ackedImports
      const file = join(dir, `copy-${n}.sqlite`)
      const backup = spawnCli(['backup', file, '--data-dir', dir, '--json'])
      expect(await backup.exited).toBe(0)
      expect(JSON.parse(backup.stdout())).toMatchObject({ file, integrity_check: 'ok' })

      const copy = new Database(file, { readonly: true })
      try {
        expect(copy.query('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
        expect(copy.query('PRAGMA foreign_key_check').all()).toEqual([])
        const visitors = new Set(
          (
            copy.query("SELECT visitor_id FROM sessions WHERE visitor_id LIKE 'live-%'").all() as {
              visitor_id: string
            }[]
          ).map((r) => r.visitor_id),
        )
        expect(acked.filter((v) => !visitors.has(v))).toEqual([])
        const bulk = copy
          .query("SELECT count(*) AS n FROM sessions WHERE id LIKE 'bulk-%'")
          .get() as {
          n: number
        }
        expect(bulk.n % 500).toBe(0) // whole import requests only (one batch each)
        expect(bulk.n).toBeGreaterThanOrEqual(importsBefore * 500)
      } finally {
        copy.close()
      }
    }
    stop = true
    await load
    expect(ackedImports).toBeGreaterThan(0)

    server.proc.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    // The live database has everything acknowledged too, and at least what the last copy had.
    const live = await peek(dir)
    expect(await scalar(live, "SELECT count(*) FROM sessions WHERE visitor_id LIKE 'live-%'")).toBe(
      ackedVisitors.length,
    )
    expect(await scalar(live, "SELECT count(*) FROM sessions WHERE id LIKE 'bulk-%'")).toBe(
      ackedImports * 500,
    )
    await live.close()
  },
)

sqliteOnly(
  'serve with MIDA_BACKUP_KEEP writes the store day backup at start-up and keeps N (SQLite only)',
  async () => {
    const dir = scope.dataDir('mida-backup-daily-')
    await prepareDataDir(dir, { settings: { timezone: 'America/New_York' } })
    const backups = join(dir, 'backups')
    mkdirSync(backups)
    for (const day of ['2026-11-22', '2026-11-23', '2026-11-24']) {
      writeFileSync(join(backups, `mida-${day}.sqlite`), 'old')
    }
    // 03:00 UTC is still 25 November in New York.
    const server = await scope.startServer(dir, {
      now: '2026-11-26T03:00:00Z',
      env: { MIDA_BACKUP_KEEP: '2' },
    })
    const line = `Daily backup written to ${join(backups, 'mida-2026-11-25.sqlite')}`
    await waitUntil(() => server.stderr().includes(line), 'the daily backup')
    server.proc.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(readdirSync(backups).sort()).toEqual([
      'mida-2026-11-24.sqlite',
      'mida-2026-11-25.sqlite',
    ])
    const copy = new Database(join(backups, 'mida-2026-11-25.sqlite'), { readonly: true })
    expect(copy.query('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
    copy.close()
  },
)

test('a bad MIDA_BACKUP_KEEP stops start-up with a message naming it', async () => {
  const dir = scope.dataDir('mida-backup-bad-')
  const child = spawnCli(['serve', '--port', '0', '--data-dir', dir], {
    env: { ...(await dataDirEnv(dir)), MIDA_BACKUP_KEEP: 'seven' },
  })
  expect(await child.exited).toBe(1)
  expect(child.stderr()).toContain(
    'Invalid MIDA_BACKUP_KEEP: expected how many daily backups to keep, 0 to 3650 (0: no daily backup), got "seven"',
  )
})
