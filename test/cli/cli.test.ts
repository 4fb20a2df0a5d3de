import { Database as SqliteDatabase } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadConfig } from '../../src/config.ts'
import { closeCore, openCore } from '../../src/core.ts'
import type { Data } from '../../src/db/data.ts'
import { openDatabase } from '../../src/db/database.ts'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { authenticateApiKey } from '../../src/domain/keys.ts'
import { createApp } from '../../src/http/app.ts'
import { runCli } from '../../src/main.ts'
import { VERSION } from '../../src/version.ts'
import {
  captureIo,
  engineEnv,
  NEW_YORK_DAY_SYNC,
  postgresOnly,
  sqliteOnly,
  tempDir,
} from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York.
const NOW = '2026-11-26T06:00:00Z'
const KEY_FORMAT = /^mida_sk_[0-9A-Za-z]{38}$/

let dir: string
let cleanup: () => void
let clock: FixedClock
/** Each data dir's environment: the dir, and on PostgreSQL runs a database of its own. */
let envs: Map<string, Promise<Record<string, string>>>

beforeEach(() => {
  ;({ dir, cleanup } = tempDir())
  clock = new FixedClock(NOW)
  envs = new Map()
})

afterEach(() => cleanup())

/** The environment of a data dir's commands, the same for every command on it. */
function envOf(dataDir: string): Promise<Record<string, string>> {
  let env = envs.get(dataDir)
  if (!env) {
    env = engineEnv().then((engine) => ({ MIDA_DATA_DIR: dataDir, ...engine }))
    envs.set(dataDir, env)
  }
  return env
}

/** The data dir's database, opened as the commands open it (without the secret key). */
async function openStored(dataDir = dir): Promise<Data> {
  const env = await envOf(dataDir)
  return openData({ dataDir, databaseUrl: env.MIDA_DATABASE_URL, secretKey: undefined })
}

/** Runs the CLI in-process on the test's data dir. */
async function cli(args: string[], stdin = '', dataDir = dir) {
  const io = captureIo(dataDir, stdin, await envOf(dataDir))
  const code = await runCli(args, io, clock)
  return { code, out: io.stdout(), err: io.stderr() }
}

async function cliJson(args: string[]) {
  const r = await cli([...args, '--json'])
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' })
  return JSON.parse(r.out)
}

async function newYorkStore(dataDir = dir): Promise<void> {
  const r = await cli(['settings', 'set', 'timezone=America/New_York', 'currency=USD'], '', dataDir)
  expect(r.code).toBe(0)
}

function writeFile(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('version and help', () => {
  test('--version prints the version', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, out: `${VERSION}\n`, err: '' })
    expect(VERSION).toBe('0.1.0')
  })

  test('--help lists every command; COMMAND --help prints its own help', async () => {
    const main = await cli(['--help'])
    expect(main.code).toBe(0)
    expect(main.out).toStartWith(`mida-export ${VERSION}:`)
    for (const c of ['serve', 'keys', 'settings', 'import', 'sync', 'stats', 'demo', 'backup']) {
      expect(main.out).toContain(`\n  ${c}`)
    }
    const keys = await cli(['keys', '--help'])
    expect(keys.code).toBe(0)
    expect(keys.out).toStartWith('Usage: mida-export keys <create|list|revoke|regenerate>')
    for (const c of ['import', 'sync', 'stats', 'demo', 'backup', 'settings', 'serve']) {
      const r = await cli([c, '--help'])
      expect([c, r.code, r.out.startsWith(`Usage: mida-export ${c}`)]).toEqual([c, 0, true])
    }
    // help does not create a data directory's database
    expect(existsSync(join(dir, 'mida.sqlite'))).toBe(false)
  })

  test('an unknown command or option is a usage error (exit 2)', async () => {
    expect(await cli(['frobnicate'])).toEqual({
      code: 2,
      out: '',
      err: 'Unknown command: frobnicate\nRun "mida-export --help" for the list of commands.\n',
    })
    const option = await cli(['stats', '--colour'])
    expect(option.code).toBe(2)
    expect(option.err).toStartWith("Unknown option '--colour'")
    expect(option.err).toContain('Usage: mida-export stats')
  })
})

describe('keys', () => {
  test('create --json prints exactly the contract fields, once', async () => {
    const created = await cliJson(['keys', 'create', '--name', 'Looker Studio'])
    expect(Object.keys(created).sort()).toEqual(
      ['created_at', 'id', 'key', 'name', 'prefix', 'scope'].sort(),
    )
    expect(created).toEqual({
      id: 1,
      name: 'Looker Studio',
      scope: 'export',
      key: expect.stringMatching(KEY_FORMAT),
      prefix: created.key.slice(0, 12),
      created_at: '2026-11-26T06:00:00Z',
    })
    const ingest = await cliJson(['keys', 'create', '--name', 'pipe', '--scope', 'ingest'])
    expect(ingest.scope).toBe('ingest')
  })

  test('create without --json prints the key once, with a warning', async () => {
    const r = await cli(['keys', 'create', '--name', 'curl'])
    expect(r.code).toBe(0)
    const key = /(mida_sk_\w+)/.exec(r.out)?.[1]
    expect(key).toMatch(KEY_FORMAT)
    expect(r.out).toBe(
      `Created key 1 "curl" (scope export). Copy it now: it is not shown again.\n\n  ${key}\n`,
    )
  })

  test('list never contains the key', async () => {
    const a = await cliJson(['keys', 'create', '--name', 'a'])
    const b = await cliJson(['keys', 'create', '--name', 'b', '--scope', 'ingest'])
    const list = await cliJson(['keys', 'list'])
    expect(list).toEqual([
      {
        id: 2,
        name: 'b',
        scope: 'ingest',
        prefix: b.prefix,
        state: 'active',
        created_at: '2026-11-26T06:00:00Z',
        last_used_at: null,
        expires_at: null,
        revoked_at: null,
      },
      {
        id: 1,
        name: 'a',
        scope: 'export',
        prefix: a.prefix,
        state: 'active',
        created_at: '2026-11-26T06:00:00Z',
        last_used_at: null,
        expires_at: null,
        revoked_at: null,
      },
    ])
    const text = await cli(['keys', 'list'])
    for (const out of [JSON.stringify(list), text.out]) {
      expect(out).not.toContain(a.key.slice(12))
      expect(out).not.toContain(b.key.slice(12))
    }
    expect(text.out.split('\n')[0]).toBe(
      'ID  NAME  SCOPE   PREFIX         STATE   CREATED               LAST USED  EXPIRES  REVOKED',
    )
  })

  test('revoke by id and by name', async () => {
    const a = await cliJson(['keys', 'create', '--name', 'a'])
    const b = await cliJson(['keys', 'create', '--name', 'b'])
    clock.advance({ minutes: 1 })
    expect(await cli(['keys', 'revoke', String(a.id)])).toEqual({
      code: 0,
      out: 'Revoked key 1 "a".\n',
      err: '',
    })
    const revokedB = await cliJson(['keys', 'revoke', 'b'])
    expect(revokedB.revoked_at).toBe('2026-11-26T06:01:00Z')
    const data = await openStored()
    expect(await authenticateApiKey(data, a.key, 'export', clock)).toBeNull()
    expect(await authenticateApiKey(data, b.key, 'export', clock)).toBeNull()
    await data.close()
    expect(await cli(['keys', 'revoke', 'b'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: No key with id or active name "b"\n',
    })
    expect((await cli(['keys', 'revoke', '1'])).err).toBe('Error: Key 1 (a) is already revoked\n')
  })

  test('regenerate by id and by name: the old key refused, the new one accepted', async () => {
    const a = await cliJson(['keys', 'create', '--name', 'a', '--scope', 'ingest'])
    const byId = await cliJson(['keys', 'regenerate', String(a.id)])
    expect(byId).toEqual({
      id: 2,
      name: 'a',
      scope: 'ingest',
      key: expect.stringMatching(KEY_FORMAT),
      prefix: byId.key.slice(0, 12),
      created_at: '2026-11-26T06:00:00Z',
    })
    const byName = await cliJson(['keys', 'regenerate', 'a'])
    expect(byName.id).toBe(3)
    const data = await openStored()
    expect(await authenticateApiKey(data, a.key, 'ingest', clock)).toBeNull()
    expect(await authenticateApiKey(data, byId.key, 'ingest', clock)).toBeNull()
    expect((await authenticateApiKey(data, byName.key, 'ingest', clock))?.name).toBe('a')
    await data.close()
  })

  test('errors: missing name, duplicate name, bad scope, unknown action', async () => {
    expect((await cli(['keys', 'create'])).code).toBe(2)
    await cli(['keys', 'create', '--name', 'x'])
    expect(await cli(['keys', 'create', '--name', 'x'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: An active key named "x" already exists\n',
    })
    expect((await cli(['keys', 'create', '--name', 'y', '--scope', 'all'])).err).toBe(
      'Error: scope must be export, ingest or report, got "all"\n',
    )
    const none = await cli(['keys'])
    expect(none.code).toBe(2)
    expect(none.err).toStartWith('keys needs a command: create, list, revoke or regenerate\n')
  })
})

describe('settings', () => {
  test('set: a bad value names the field and changes nothing (exit 1)', async () => {
    expect(await cli(['settings', 'set', 'timezone=Mars/Olympus', 'currency=EUR'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: timezone: must be an IANA time zone such as America/New_York\n',
    })
    expect((await cli(['settings', 'set', 'sync_hour=24', 'week_start=friday'])).err).toBe(
      'Error: sync_hour: must be an hour from 0 to 23; week_start: must be monday or sunday\n',
    )
    expect((await cli(['settings', 'set', 'tracking_id=abc'])).err).toBe(
      'Error: tracking_id: is read-only\n',
    )
    expect((await cli(['settings', 'set', 'colour=blue'])).err).toStartWith(
      'Error: colour: is not a setting (known: store_name, ',
    )
    const proto = await cli(['settings', 'set', '__proto__=x'])
    expect(proto.code).toBe(1)
    expect(proto.err).toStartWith('Error: __proto__: is not a setting (known: store_name, ')
    expect((await cliJson(['settings'])).currency).toBe('USD')
  })

  test('set: success prints the settings, secrets hidden', async () => {
    const shown = await cliJson([
      'settings',
      'set',
      'timezone=Europe/Berlin',
      'currency=eur',
      'api_enabled=true',
      'smtp_password=hunter22',
      'store_name=Linen & Co',
    ])
    expect(shown).toMatchObject({
      store_name: 'Linen & Co',
      timezone: 'Europe/Berlin',
      currency: 'EUR',
      api_enabled: true,
      sync_frequency: 'daily',
      week_start: 'monday',
      smtp_password: '(set)',
      shopify_webhook_secret: '',
      tracking_id: expect.stringMatching(/^MIDA-[0-9A-Za-z]{12}$/),
    })
    const text = await cli(['settings'])
    expect(text.out).not.toContain('hunter22')
    expect(text.out).toContain('currency                EUR')
  })

  test('malformed arguments are usage errors', async () => {
    expect((await cli(['settings', 'set'])).code).toBe(2)
    expect((await cli(['settings', 'set', 'timezone'])).err).toStartWith(
      'Expected key=value, got "timezone"',
    )
    expect((await cli(['settings', 'get'])).code).toBe(2)
  })
})

describe('import', () => {
  const good = (id: string, at: string) =>
    JSON.stringify({ id, visitor_id: `v-${id}`, started_at: at, pageviews: 2 })

  test('bad lines: exit 1, line numbers printed, good lines kept', async () => {
    const file = writeFile(
      'sessions.ndjson',
      [
        good('a', '2026-11-25T10:00:00-05:00'),
        '{oops',
        good('b', '2026-11-25T11:00:00-05:00'),
        '{"id":"c","visitor_id":"v"}',
      ].join('\n'),
    )
    expect(await cli(['import', 'sessions', file])).toEqual({
      code: 1,
      out: [
        'Imported sessions: 2 inserted, 0 updated, 2 rejected.',
        '  line 2: not valid JSON',
        '  line 4: started_at: is required',
        '',
      ].join('\n'),
      err: '',
    })
    await newYorkStore()
    const stats = await cliJson(['stats', '--from', '2026-11-25', '--to', '2026-11-25'])
    expect(stats.total_sessions).toBe(2)
    // again: idempotent, and --json gives one document
    const again = await cli(['import', 'sessions', file, '--json'])
    expect(again.code).toBe(1)
    expect(JSON.parse(again.out)).toMatchObject({
      kind: 'sessions',
      inserted: 0,
      updated: 2,
      rejected: 2,
      errors: [
        { line: 2, error: 'not valid JSON' },
        { line: 4, error: 'started_at: is required' },
      ],
    })
  })

  test('sessions from stdin with -, orders from a file', async () => {
    const stdin = `${good('x', '2026-11-25T10:00:00-05:00')}\n${good('y', '2026-11-25T12:00:00-05:00')}\n`
    expect(await cli(['import', 'sessions', '-'], stdin)).toEqual({
      code: 0,
      out: 'Imported sessions: 2 inserted, 0 updated, 0 rejected.\n',
      err: '',
    })
    const orders = writeFile(
      'orders.ndjson',
      `${JSON.stringify({ id: 1, created_at: '2026-11-25T10:30:00-05:00', total_price: '12.50', session_id: 'x' })}\n`,
    )
    expect((await cli(['import', 'orders', orders])).out).toBe(
      'Imported orders: 1 inserted, 0 updated, 0 rejected.\n',
    )
    await newYorkStore()
    const stats = await cliJson(['stats', '--from', '2026-11-25', '--to', '2026-11-25'])
    expect([stats.total_sessions, stats.successful_orders, stats.total_revenue]).toEqual([
      2, 1, 12.5,
    ])
  })

  test('usage errors: kind, missing file', async () => {
    expect((await cli(['import', 'visitors', 'x'])).err).toStartWith(
      'import needs a kind: sessions or orders',
    )
    // A file that is not there is an error (1), not a usage mistake: no usage text.
    const missing = await cli(['import', 'sessions', join(dir, 'nope.ndjson')])
    expect(missing.code).toBe(1)
    expect(missing.err).toBe(`Error: No such file: ${join(dir, 'nope.ndjson')}\n`)
  })
})

describe('sync and stats', () => {
  async function seed(): Promise<void> {
    await newYorkStore()
    const sessions = [
      { id: 's1', visitor_id: 'v1', started_at: '2026-11-25T00:00:00-05:00', pageviews: 3 },
      { id: 's2', visitor_id: 'v2', started_at: '2026-11-25T23:59:59-05:00', device: 'mobile' },
      { id: 's3', visitor_id: 'v1', started_at: '2026-11-24T12:00:00-05:00', source: 'paid' },
    ]
    const orders = [
      { id: 1, created_at: '2026-11-25T09:00:00-05:00', total_price: '40.00', session_id: 's1' },
      { id: 2, created_at: '2026-11-24T13:00:00-05:00', total_price: '10.00' },
    ]
    const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n')
    expect((await cli(['import', 'sessions', '-'], ndjson(sessions))).code).toBe(0)
    expect((await cli(['import', 'orders', '-'], ndjson(orders))).code).toBe(0)
  }

  test('sync --json prints the same body as the API', async () => {
    await seed()
    const r = await cli(['sync', '--date', '2026-11-25', '--json'])
    expect(r.code).toBe(0)
    expect(r.out.endsWith('\n')).toBe(true)
    expect(r.out.trimEnd().includes('\n')).toBe(false) // exactly one compact document
    const body = JSON.parse(r.out)
    expect(body).toMatchObject(NEW_YORK_DAY_SYNC)
    expect(body.data).toMatchObject({
      total_visitors: 2,
      new_visitors: 1,
      returning_visitors: 1,
      total_sessions: 2,
      total_pageviews: 4,
      successful_orders: 1,
      total_revenue: 40,
    })

    // the API on the same data dir answers with the same bytes
    await cli(['settings', 'set', 'api_enabled=true'])
    const { key } = await cliJson(['keys', 'create', '--name', 'api'])
    const core = await openCore({ config: loadConfig({ env: await envOf(dir), cwd: dir }), clock })
    try {
      const app = createApp(core)
      const res = await app.handle(
        new Request('http://localhost/apiv1/analytics/sync', {
          method: 'POST',
          headers: { 'x-mida-secret-key': key },
        }),
      )
      expect(res.status).toBe(200)
      expect(await res.text()).toBe(r.out.trimEnd())
    } finally {
      await closeCore(core)
    }
  })

  test('sync without --json pretty-prints the same document; --frequency overrides', async () => {
    await seed()
    const pretty = await cli(['sync'])
    expect(pretty.code).toBe(0)
    expect(pretty.out.split('\n')[1]).toBe('  "success": true,')
    expect(JSON.parse(pretty.out).period.label).toBe('2026-11-25')
    const weekly = await cliJson(['sync', '--frequency', 'weekly'])
    expect(weekly.frequency).toBe('weekly')
    expect(weekly.period.label).toBe('2026-11-16/2026-11-22')
  })

  test('sync --date of an older period or another --frequency queues no email; sync does', async () => {
    await newYorkStore()
    const on = [
      'settings',
      'set',
      'notify_success=true',
      'notify_failure=true',
      'store_email=o@a.test',
    ]
    expect((await cli(on)).code).toBe(0)
    const outbox = async () => {
      const data = await openStored()
      try {
        return await data.all('SELECT frequency, period_label, outcome FROM outbox ORDER BY id')
      } finally {
        await data.close()
      }
    }
    for (const date of ['2026-11-20', '2026-11-21', '2026-11-24']) {
      expect((await cli(['sync', '--date', date, '--json'])).code).toBe(0)
    }
    expect((await cli(['sync', '--frequency', 'weekly', '--json'])).code).toBe(0)
    expect(await outbox()).toEqual([])
    expect((await cli(['sync', '--json'])).code).toBe(0)
    expect(await outbox()).toEqual([
      { frequency: 'daily', period_label: '2026-11-25', outcome: 'success' },
    ])
  })

  test('sync errors', async () => {
    expect((await cli(['sync', '--frequency', 'monthly'])).err).toStartWith(
      '--frequency must be daily or weekly, got "monthly"',
    )
    expect(await cli(['sync', '--date', '25.11.2026'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: --date must be a date like 2026-11-25, got "25.11.2026"\n',
    })
    await newYorkStore()
    expect((await cli(['sync', '--date', '2026-11-26'])).err).toBe(
      'Error: date: the daily period 2026-11-26 is not complete yet (it ends 2026-11-27T00:00:00-05:00)\n',
    )
  })

  test('stats --from --to --json: the data object for the range', async () => {
    await seed()
    expect(await cliJson(['stats', '--from', '2026-11-24', '--to', '2026-11-25'])).toEqual({
      total_visitors: 2,
      new_visitors: 2,
      returning_visitors: 0,
      total_sessions: 3,
      total_pageviews: 5,
      bounce_rate: 0.6667,
      avg_session_duration_seconds: 0,
      successful_orders: 2,
      total_revenue: 50,
      average_order_value: 25,
      conversion_rate: 0.6667,
      abandoned_carts: 0,
      abandoned_checkouts: 0,
      funnel: { sessions: 3, viewed_product: 0, added_to_cart: 0, reached_checkout: 0, ordered: 2 },
      devices: { desktop: 2, mobile: 1, tablet: 0 },
      sources: { direct: 2, organic: 0, paid: 1, referral: 0 },
      top_landing_pages: [{ path: '/', sessions: 3 }],
      daily: [
        { date: '2026-11-24', visitors: 1, sessions: 1, successful_orders: 1, revenue: 10 },
        { date: '2026-11-25', visitors: 2, sessions: 2, successful_orders: 1, revenue: 40 },
      ],
    })
    // no sync was recorded
    const data = await openStored()
    expect(await data.get('SELECT count(*) AS n FROM sync_records')).toEqual({ n: 0 })
    await data.close()
  })

  test('stats defaults to today so far; bad ranges are refused', async () => {
    await seed()
    const today = await cliJson(['stats'])
    expect(today.daily.map((d: { date: string }) => d.date)).toEqual(['2026-11-26'])
    const human = await cli(['stats', '--from', '2026-11-25', '--to', '2026-11-25'])
    expect(human.out.split('\n')[0]).toBe('My Store: 2026-11-25 (America/New_York)')
    expect(await cli(['stats', '--from', '2026-11-26', '--to', '2026-11-25'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: from (2026-11-26) is after to (2026-11-25)\n',
    })
  })
})

describe('demo and backup', () => {
  test('demo --days 3 --seed 7 is deterministic across fresh data dirs', async () => {
    const other = tempDir()
    try {
      const range = ['stats', '--from', '2026-11-23', '--to', '2026-11-26', '--json']
      const summaries: string[] = []
      const stats: string[] = []
      for (const d of [dir, other.dir]) {
        await newYorkStore(d)
        const demo = await cli(['demo', '--days', '3', '--seed', '7', '--json'], '', d)
        expect(demo.code).toBe(0)
        const summary = JSON.parse(demo.out)
        // the 3 days before today, and today so far
        expect(summary).toMatchObject({ days: 3, from: '2026-11-23', to: '2026-11-26' })
        expect(summary.sessions).toBeGreaterThan(500)
        expect(summary.orders).toBeGreaterThan(0)
        summaries.push(demo.out)
        stats.push((await cli(range, '', d)).out)
      }
      expect(summaries[1]).toBe(summaries[0]!)
      expect(stats[1]).toBe(stats[0]!)
      expect(JSON.parse(stats[0]!).total_sessions).toBe(JSON.parse(summaries[0]!).sessions)
      // running it again changes nothing
      await cli(['demo', '--days', '3', '--seed', '7'])
      expect((await cli(range)).out).toBe(stats[0]!)
      // today's sessions stop at now (01:00 in New York)
      const today = JSON.parse((await cli(['stats', '--json'])).out) as {
        total_sessions: number
        daily: { sessions: number }[]
      }
      expect(today.total_sessions).toBeLessThan(40)
      // a different seed gives different data
      const third = tempDir()
      try {
        await newYorkStore(third.dir)
        await cli(['demo', '--days', '3', '--seed', '8'], '', third.dir)
        expect((await cli(range, '', third.dir)).out).not.toBe(stats[0]!)
      } finally {
        third.cleanup()
      }
    } finally {
      other.cleanup()
    }
  })

  test('demo: bad --days is a usage error', async () => {
    const r = await cli(['demo', '--days', '2.5'])
    expect(r.code).toBe(2)
    expect(r.err).toStartWith('--days must be a whole number from 0 to 3650, got "2.5"')
  })

  sqliteOnly('backup FILE writes a copy that passes integrity_check (SQLite only)', async () => {
    await newYorkStore()
    await cli(['demo', '--days', '1', '--seed', '3'])
    const target = join(dir, 'backup.sqlite')
    const r = await cli(['backup', target, '--json'])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.out)
    expect(out).toEqual({ file: resolve(target), bytes: expect.any(Number), integrity_check: 'ok' })
    expect(out.bytes).toBe(Bun.file(target).size)
    const copy = new SqliteDatabase(target, { readonly: true })
    try {
      expect(copy.query('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      const live = openDatabase(dir, { secretKey: undefined })
      const count = 'SELECT count(*) AS n FROM sessions'
      expect(copy.query(count).get()).toEqual(live.query(count).get())
      live.close()
    } finally {
      copy.close()
    }
    // an existing file is never overwritten
    const again = await cli(['backup', target])
    expect(again.code).toBe(1)
    expect(again.err).toBe(`Error: ${target} already exists; choose a new file\n`)
    expect((await cli(['backup'])).err).toStartWith('backup needs a FILE')
  })

  postgresOnly(
    'backup on PostgreSQL is a usage error naming pg_dump (PostgreSQL only)',
    async () => {
      const r = await cli(['backup', join(dir, 'backup.sqlite')])
      expect(r.code).toBe(2)
      expect(r.out).toBe('')
      expect(r.err).toContain('pg_dump')
      expect(existsSync(join(dir, 'backup.sqlite'))).toBe(false)
    },
  )
})

describe('the real entry point', () => {
  test('bun src/main.ts --version', async () => {
    const proc = Bun.spawn([process.execPath, 'src/main.ts', '--version'], {
      cwd: resolve(import.meta.dir, '../..'),
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, ...(await envOf(dir)) },
    })
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    expect({ out, err, code }).toEqual({ out: `${VERSION}\n`, err: '', code: 0 })
  })
})
