// The key options on the command line: keys create --expires and --scope report, keys regenerate
// --grace, and keys list with each key's state and expiry, in the store's time zone, on any store.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import type { Data } from '../../src/db/data.ts'
import { openData } from '../../src/db/open.ts'
import { FixedClock } from '../../src/domain/clock.ts'
import { authenticateApiKey } from '../../src/domain/keys.ts'
import { runCli } from '../../src/main.ts'
import { captureIo, engineEnv, tempDir } from '../utils.ts'

// 06:00Z on 2026-11-26 is 01:00 in New York.
const NOW = '2026-11-26T06:00:00Z'

let dir: string
let cleanup: () => void
let clock: FixedClock
let env: Record<string, string>
let opened: Data[]

beforeEach(async () => {
  ;({ dir, cleanup } = tempDir())
  clock = new FixedClock(NOW)
  env = { MIDA_DATA_DIR: dir, ...(await engineEnv()) }
  opened = []
  expect((await cli(['settings', 'set', 'timezone=America/New_York'])).code).toBe(0)
})

afterEach(async () => {
  for (const data of opened) await data.close()
  cleanup()
})

async function cli(args: string[]) {
  const io = captureIo(dir, '', env)
  const code = await runCli(args, io, clock)
  return { code, out: io.stdout(), err: io.stderr() }
}

async function cliJson(args: string[]) {
  const r = await cli([...args, '--json'])
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' })
  return JSON.parse(r.out)
}

/** The data dir's database, as the server would open it. */
async function stored(): Promise<Data> {
  const data = await openData({
    dataDir: dir,
    databaseUrl: env.MIDA_DATABASE_URL,
    secretKey: undefined,
  })
  opened.push(data)
  return data
}

test('keys create --expires: a duration from now, or the start of a day in the store time zone', async () => {
  const in90 = await cliJson(['keys', 'create', '--name', 'quarter', '--expires', '90d'])
  expect(in90.expires_at).toBe('2027-02-24T06:00:00Z')
  // 2027-03-15 is the first whole day of daylight saving time in New York: it starts at 04:00Z.
  const dated = await cliJson(['keys', 'create', '--name', 'spring', '--expires', '2027-03-15'])
  expect(dated.expires_at).toBe('2027-03-15T04:00:00Z')
  const text = await cli(['keys', 'create', '--name', 'month', '--expires', '30d'])
  expect(text.code).toBe(0)
  expect(text.out.split('\n')[0]).toBe(
    'Created key 3 "month" (scope export). Copy it now: it is not shown again. It expires 2026-12-26T06:00:00Z.',
  )
  // Without --expires the JSON is the contract's, no expires_at.
  const plain = await cliJson(['keys', 'create', '--name', 'forever'])
  expect('expires_at' in plain).toBe(false)

  const data = await stored()
  clock.set('2027-03-15T03:59:59.999Z')
  expect((await authenticateApiKey(data, dated.key, 'export', clock))?.name).toBe('spring')
  clock.set('2027-03-15T04:00:00Z')
  expect(await authenticateApiKey(data, dated.key, 'export', clock)).toBeNull()
})

test('keys create --expires refuses what it cannot read, naming the problem', async () => {
  const cases: [string, string][] = [
    [
      'soon',
      'Error: expires must be a duration such as 90d, 12h or 2w, or a date YYYY-MM-DD, got "soon"\n',
    ],
    ['2026-11-20', 'Error: expires: 2026-11-20 is not in the future\n'],
    ['2027-02-29', 'Error: expires: 2027-02-29 is not a calendar date\n'],
    ['4000d', 'Error: expires: at most ten years ahead\n'],
  ]
  for (const [value, err] of cases) {
    expect(await cli(['keys', 'create', '--name', 'x', '--expires', value])).toEqual({
      code: 1,
      out: '',
      err,
    })
  }
  expect(await cliJson(['keys', 'list'])).toEqual([])
})

test('keys create --scope report: a key the report accepts and the sync API and imports do not', async () => {
  const report = await cliJson(['keys', 'create', '--name', 'sheet', '--scope', 'report'])
  expect(report.scope).toBe('report')
  const data = await stored()
  expect((await authenticateApiKey(data, report.key, 'report', clock))?.name).toBe('sheet')
  expect(await authenticateApiKey(data, report.key, 'export', clock)).toBeNull()
  expect(await authenticateApiKey(data, report.key, 'ingest', clock)).toBeNull()
})

test('keys regenerate --grace: the old key answers until the grace ends; keys list shows it', async () => {
  const old = await cliJson(['keys', 'create', '--name', 'looker', '--expires', '30d'])
  clock.set('2026-12-06T06:00:00Z')
  const r = await cli(['keys', 'regenerate', 'looker', '--grace', '24h'])
  expect(r.code).toBe(0)
  const lines = r.out.trimEnd().split('\n')
  // Same 30-day lifetime, counted from now.
  expect(lines[0]).toBe(
    'Regenerated key 2 "looker" (scope export). Copy it now: it is not shown again. It expires 2027-01-05T06:00:00Z.',
  )
  const fresh = /(mida_sk_\w+)/.exec(r.out)![1]!
  expect(lines.at(-1)).toBe('The old key keeps answering until 2026-12-07T06:00:00Z.')

  const data = await stored()
  clock.set('2026-12-07T05:59:59.999Z')
  expect((await authenticateApiKey(data, old.key, 'export', clock))?.id).toBe(1)
  expect((await authenticateApiKey(data, fresh, 'export', clock))?.id).toBe(2)
  const listed = await cliJson(['keys', 'list'])
  expect(
    listed.map((k: Record<string, unknown>) => [k.id, k.state, k.expires_at, k.revoked_at]),
  ).toEqual([
    [2, 'active', '2027-01-05T06:00:00Z', null],
    [1, 'grace', '2026-12-26T06:00:00Z', '2026-12-07T06:00:00Z'],
  ])
  const text = await cli(['keys', 'list'])
  expect(text.out.split('\n').map((l) => l.replace(/mida_sk_\w{4}…/, 'PREFIX'))).toEqual([
    'ID  NAME    SCOPE   PREFIX         STATE   CREATED               LAST USED             EXPIRES               REVOKED',
    '2   looker  export  PREFIX  active  2026-12-06T06:00:00Z  2026-12-07T05:59:59Z  2027-01-05T06:00:00Z  -',
    '1   looker  export  PREFIX  grace   2026-11-26T06:00:00Z  2026-12-07T05:59:59Z  2026-12-26T06:00:00Z  2026-12-07T06:00:00Z',
    '',
  ])

  clock.set('2026-12-07T06:00:00Z')
  expect(await authenticateApiKey(data, old.key, 'export', clock)).toBeNull()
  expect((await cliJson(['keys', 'list']))[1].state).toBe('revoked')
  // An expired key (not revoked) is listed as expired.
  clock.set('2027-01-05T06:00:00Z')
  expect((await cliJson(['keys', 'list']))[0].state).toBe('expired')
})

test('keys revoke ID ends a grace period at once; --grace past 30 days is refused', async () => {
  const old = await cliJson(['keys', 'create', '--name', 'looker'])
  expect(await cli(['keys', 'regenerate', 'looker', '--grace', '31d'])).toEqual({
    code: 1,
    out: '',
    err: 'Error: grace: at most 30 days\n',
  })
  expect((await cli(['keys', 'regenerate', 'looker', '--grace', '7d'])).code).toBe(0)
  clock.set('2026-11-27T06:00:00Z')
  const data = await stored()
  expect((await authenticateApiKey(data, old.key, 'export', clock))?.id).toBe(1)
  const revoked = await cliJson(['keys', 'revoke', '1'])
  expect([revoked.state, revoked.revoked_at]).toEqual(['revoked', '2026-11-27T06:00:00Z'])
  // The next call comes in a later turn of the event loop, when the read cache asks the database
  // whether another connection changed it (it asks once per turn; the CLI's SQLite work took none).
  await Bun.sleep(0)
  expect(await authenticateApiKey(data, old.key, 'export', clock)).toBeNull()
  expect(await cli(['keys', 'revoke', '1'])).toEqual({
    code: 1,
    out: '',
    err: 'Error: Key 1 (looker) is already revoked\n',
  })
})
