// `mida-export destinations add|list|remove|test`: per store (--store), --json as one document,
// the webhook's secret printed once and never listed, the address rules, a real test delivery.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { FixedClock } from '../../src/domain/clock.ts'
import { runCli } from '../../src/main.ts'
import { type Receiver, readmeVerifier, startReceiver } from '../receiver.ts'
import { captureIo, engineEnv, tempDir } from '../utils.ts'

const NOW = '2026-11-26T06:00:00Z'
const ALLOW = { MIDA_ALLOW_PRIVATE_DESTINATIONS: 'true' }

let dir: string
let cleanup: () => void
let env: Record<string, string>
let receiver: Receiver
const clock = new FixedClock(NOW)

beforeEach(async () => {
  ;({ dir, cleanup } = tempDir())
  env = { MIDA_DATA_DIR: dir, ...(await engineEnv()) }
  receiver = startReceiver()
})

afterEach(async () => {
  await receiver.stop()
  cleanup()
})

async function cli(args: string[], extra: Record<string, string> = {}) {
  const io = captureIo(dir, '', { ...env, ...extra })
  const code = await runCli(args, io, clock)
  return { code, out: io.stdout(), err: io.stderr() }
}

async function cliJson(args: string[], extra: Record<string, string> = {}) {
  const r = await cli([...args, '--json'], extra)
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' })
  return JSON.parse(r.out)
}

describe('destinations', () => {
  test('--help describes the commands', async () => {
    const r = await cli(['destinations', '--help'])
    expect(r.code).toBe(0)
    expect(r.out).toStartWith('Usage: mida-export destinations <add|list|remove|test>')
    expect((await cli(['--help'])).out).toContain('\n  destinations ')
  })

  test('add prints the secret once; list never shows it nor the whole URL; test delivers, signed', async () => {
    const url = `${receiver.url}/hooks/abc/the-secret-part`
    const added = await cliJson(
      ['destinations', 'add', '--type', 'webhook', '--url', url, '--name', 'ERP'],
      ALLOW,
    )
    expect(added).toEqual({
      id: added.id,
      name: 'ERP',
      type: 'webhook',
      url_hint: `${receiver.url}/hooks/…`,
      created_at: '2026-11-26T06:00:00Z',
      secret: expect.stringMatching(/^whsec_[0-9A-Za-z]{32}$/),
    })
    const slack = await cli(
      ['destinations', 'add', '--type', 'slack', '--url', `${receiver.url}/services/T/B/X`],
      ALLOW,
    )
    expect(slack.code).toBe(0)
    expect(slack.out).toBe(
      `Added destination ${added.id + 1} "127.0.0.1:${receiver.port}" (slack, ${receiver.url}/services/…).\n`,
    )

    const list = await cliJson(['destinations', 'list'])
    expect(list).toEqual([
      {
        id: added.id,
        name: 'ERP',
        type: 'webhook',
        url_hint: `${receiver.url}/hooks/…`,
        created_at: '2026-11-26T06:00:00Z',
        last_delivery: null,
      },
      expect.objectContaining({ type: 'slack', url_hint: `${receiver.url}/services/…` }),
    ])
    const text = await cli(['destinations', 'list'])
    for (const out of [JSON.stringify(list), text.out]) {
      expect(out).not.toContain(added.secret)
      expect(out).not.toContain('the-secret-part')
      expect(out).not.toContain('/services/T/B/X')
    }

    const verify = await readmeVerifier()
    const tested = await cliJson(['destinations', 'test', String(added.id)], ALLOW)
    expect(tested.delivery).toMatchObject({
      event: 'sync.test',
      status: 'sent',
      attempts: 1,
      response: 'HTTP 200',
    })
    const got = receiver.received[0]!
    expect(got.path).toBe('/hooks/abc/the-secret-part')
    expect(
      verify(
        added.secret,
        got.headers['x-mida-signature'] as string,
        got.body,
        clock.now().epochMilliseconds,
      ),
    ).toBe(true)
    const listed = await cliJson(['destinations', 'list'])
    expect(listed[0].last_delivery).toMatchObject({
      event: 'sync.test',
      status: 'sent',
      response: 'HTTP 200',
    })

    // A failing test exits 1 and says why.
    receiver.answer(() => new Response('no', { status: 500 }))
    expect(await cli(['destinations', 'test', String(added.id)], ALLOW)).toEqual({
      code: 1,
      out: `Test to "ERP" (${receiver.url}/hooks/…) failed: HTTP 500.\n`,
      err: '',
    })

    expect(await cli(['destinations', 'remove', String(added.id)])).toEqual({
      code: 0,
      out: `Removed destination ${added.id} "ERP".\n`,
      err: '',
    })
    expect((await cliJson(['destinations', 'list'])).map((d: { type: string }) => d.type)).toEqual([
      'slack',
    ])
  })

  test('refusals: a private address or http:// without the flag, bad input, an unknown id', async () => {
    expect(
      await cli(['destinations', 'add', '--type', 'webhook', '--url', 'https://10.0.0.1/x']),
    ).toEqual({
      code: 1,
      out: '',
      err: 'Error: url: 10.0.0.1 is a private address; destinations must be public (MIDA_ALLOW_PRIVATE_DESTINATIONS=true allows private ones)\n',
    })
    expect(
      (await cli(['destinations', 'add', '--type', 'webhook', '--url', `${receiver.url}/x`])).err,
    ).toBe(
      'Error: url: must start with https:// (http:// only with MIDA_ALLOW_PRIVATE_DESTINATIONS=true)\n',
    )
    expect(
      (await cli(['destinations', 'add', '--type', 'teams', '--url', 'https://93.184.216.34/x']))
        .err,
    ).toBe('Error: type: must be webhook or slack, got "teams"\n')
    const usage = await cli(['destinations', 'add', '--type', 'webhook'])
    expect(usage.code).toBe(2)
    expect(usage.err).toStartWith('destinations add needs --type webhook|slack and --url URL')
    expect(await cli(['destinations', 'remove', '99'])).toEqual({
      code: 1,
      out: '',
      err: 'Error: No destination "99" in this store\n',
    })
    expect(await cliJson(['destinations', 'list'])).toEqual([])
  })

  test('--store: with several stores it is required, and each store has its own destinations', async () => {
    expect((await cli(['stores', 'create', 'other'])).code).toBe(0)
    const without = await cli(['destinations', 'list'])
    expect(without.code).toBe(2)
    expect(without.err).toBe(
      'Error: This server holds 2 stores: name one with --store SLUG (default, other)\n',
    )
    await cliJson(
      [
        'destinations',
        'add',
        '--store',
        'other',
        '--type',
        'webhook',
        '--url',
        `${receiver.url}/o`,
      ],
      ALLOW,
    )
    expect(await cliJson(['destinations', 'list', '--store', 'default'])).toEqual([])
    expect(
      (await cliJson(['destinations', 'list', '--store', 'other'])).map(
        (d: { url_hint: string }) => d.url_hint,
      ),
    ).toEqual([`${receiver.url}/…`])
  })
})
