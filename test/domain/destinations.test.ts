// Destinations (DESIGN.md "Destinations"): the address rules at save and at send, and deliveries
// through the outbox to a real webhook receiver on loopback: signed, once per destination and
// period (across a restart and with two senders), retried on the backoff schedule, given up
// with a log line; redirects not followed, a hanging receiver cut at the timeout; Slack messages;
// one failing channel holds back no other; each store's destinations get that store's syncs.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { closeCore, openCore } from '../../src/core.ts'
import type { Data } from '../../src/db/data.ts'
import {
  addDestination,
  addressRefusal,
  DELIVERY_TIMEOUT_MS,
  type DeliveryOptions,
  listDestinations,
  recentDeliveries,
  removeDestination,
  testDestination,
} from '../../src/domain/destinations.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { configuredMailer } from '../../src/domain/mailer.ts'
import { OutboxSender, retryDelayMs } from '../../src/domain/outbox.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { createStore, type Store } from '../../src/domain/stores.ts'
import { syncPeriod } from '../../src/domain/sync.ts'
import { PYTHON_VERIFIER, type Receiver, readmeVerifier, startReceiver } from '../receiver.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, type TestApp } from '../utils.ts'

const NOW = '2026-11-26T06:00:00Z'
const FLAG = 'MIDA_ALLOW_PRIVATE_DESTINATIONS=true allows private ones'
const ALLOWED: DeliveryOptions = { allowPrivate: true }
const PUBLIC_ONLY: DeliveryOptions = { allowPrivate: false }

let t: TestApp
let receiver: Receiver
let logs: string[]

beforeEach(async () => {
  t = await createTestApp({
    now: NOW,
    // Secrets sealed at rest, as a production set-up has them.
    env: { MIDA_SECRET_KEY: 'a test secret key of some length' },
    settings: { timezone: 'UTC', currency: 'USD', store_name: 'Main Shop' },
  })
  receiver = startReceiver()
  logs = []
})

afterEach(async () => {
  await receiver.stop()
  t.close()
})

function sender(options: DeliveryOptions = ALLOWED, owner = 'sender-a', data: Data = t.data) {
  return new OutboxSender({
    data,
    clock: t.clock,
    mailer: configuredMailer(t.config, data),
    baseUrl: 'https://stats.shop.example',
    owner,
    destinations: options,
    log: (line) => logs.push(line),
  })
}

/** A day's scheduled sync of a store (its last completed day at the clock's time). */
function scheduledSync(date = '2026-11-25', store: Store = t.store, data: Data = t.data) {
  const request = {
    frequency: 'daily' as const,
    date: Temporal.PlainDate.from(date),
    trigger: 'scheduler' as const,
    strictFrequency: false,
  }
  return syncPeriod(data, store, request, t.clock)
}

async function seedDay(store: Store = t.store, sessions = 2, revenue = '25.00'): Promise<void> {
  const ids = Array.from({ length: sessions }, (_, i) => `s${store.id}-${i}`)
  await writeSessions(
    t.data,
    store,
    ids.map((id) =>
      sessionInput.parse({ id, visitor_id: `v-${id}`, started_at: '2026-11-25T10:00:00Z' }),
    ),
    t.clock,
  )
  await writeOrders(
    t.data,
    store,
    [
      orderInput.parse({
        id: `o${store.id}`,
        created_at: '2026-11-25T10:05:00Z',
        total_price: revenue,
      }),
    ],
    t.clock,
  )
}

function addHook(path = '/hook', options = ALLOWED, store = t.store, name = 'Hook') {
  return addDestination(
    t.data,
    store,
    { type: 'webhook', url: `${receiver.url}${path}`, name },
    t.clock,
    options,
  )
}

const deliveries = () =>
  t.data.all<{
    id: number
    status: string
    attempts: number
    last_error: string | null
    smtp_response: string | null
    next_attempt_at: number
    created_at: number
  }>(
    `SELECT id, status, attempts, last_error, smtp_response, next_attempt_at, created_at
     FROM outbox WHERE destination_id IS NOT NULL ORDER BY id`,
  )

const storedBody = async (store: Store = t.store) =>
  (
    await t.data.get<{ body: string }>(
      'SELECT body FROM sync_records WHERE store_id = ? ORDER BY id DESC LIMIT 1',
      store.id,
    )
  )?.body

describe('address rules at save', () => {
  test('which addresses are refused, IPv4-mapped, -compatible and NAT64 forms included', () => {
    const kinds: [string, string | null][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['172.32.0.1', null],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['100.64.0.1', 'shared (CGNAT)'],
      ['100.127.255.255', 'shared (CGNAT)'],
      ['100.128.0.1', null],
      ['0.0.0.0', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['93.184.216.34', null],
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['fc00::1', 'private'],
      ['fd12:3456::1', 'private'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:a9fe:a9fe', 'link-local'],
      ['::127.0.0.1', 'loopback'],
      ['64:ff9b::192.168.0.1', 'private'],
      ['::ffff:93.184.216.34', null],
      ['2606:2800:220:1::248', null],
      // Special-purpose ranges: reserved, benchmarking, documentation, 6to4 of a private
      // address, NAT64 for local use, the old site-local.
      ['192.0.0.8', 'reserved'],
      ['198.18.0.1', 'benchmarking'],
      ['198.19.255.255', 'benchmarking'],
      ['192.0.2.1', 'documentation'],
      ['198.51.100.7', 'documentation'],
      ['203.0.113.9', 'documentation'],
      ['2001:db8::1', 'documentation'],
      ['2002:a00:1::1', 'private'],
      ['2002:7f00:1::', 'loopback'],
      ['2002:5db8:d822::1', null],
      ['64:ff9b:1::a00:1', 'private'],
      ['fec0::1', 'site-local'],
    ]
    expect(kinds.map(([a]) => [a, addressRefusal(a)])).toEqual(kinds)
  })

  test('loopback, private, link-local addresses, localhost and http:// are refused without the flag', async () => {
    const refused: [string, string][] = [
      [
        'https://127.0.0.1/hook',
        `url: 127.0.0.1 is a loopback address; destinations must be public (${FLAG})`,
      ],
      [
        'https://10.0.0.1/hook',
        `url: 10.0.0.1 is a private address; destinations must be public (${FLAG})`,
      ],
      [
        'https://169.254.169.254/latest/meta-data',
        `url: 169.254.169.254 is a link-local address; destinations must be public (${FLAG})`,
      ],
      [
        'https://[::1]:8443/hook',
        `url: ::1 is a loopback address; destinations must be public (${FLAG})`,
      ],
      [
        'https://localhost/hook',
        `url: localhost is a loopback address; destinations must be public (${FLAG})`,
      ],
      [
        'https://[::ffff:192.168.1.20]/hook',
        `url: ::ffff:c0a8:114 is a private address; destinations must be public (${FLAG})`,
      ],
      [
        'https://100.64.1.1/hook',
        `url: 100.64.1.1 is a shared (CGNAT) address; destinations must be public (${FLAG})`,
      ],
      [
        'https://0.0.0.0/hook',
        `url: 0.0.0.0 is an unspecified address; destinations must be public (${FLAG})`,
      ],
      [
        'http://93.184.216.34/hook',
        'url: must start with https:// (http:// only with MIDA_ALLOW_PRIVATE_DESTINATIONS=true)',
      ],
      ['ftp://93.184.216.34/hook', 'url: must start with https://'],
      ['hooks.example.com/x', 'url: not a valid URL (it must start with https://)'],
      ['', 'url: required'],
    ]
    for (const [url, message] of refused) {
      const attempt = addDestination(
        t.data,
        t.store,
        { type: 'webhook', url },
        t.clock,
        PUBLIC_ONLY,
      )
      await expect(attempt).rejects.toThrow(message)
      await expect(attempt).rejects.toMatchObject({ status: 400 })
    }
    expect(await listDestinations(t.data, t.store)).toEqual([])
  })

  test('a host with any address on a private network is refused; one that does not resolve too', async () => {
    const resolve = async (host: string) => {
      if (host === 'hooks.example.com') return ['93.184.216.34', '10.1.2.3']
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
    }
    const add = (url: string) =>
      addDestination(t.data, t.store, { type: 'slack', url }, t.clock, {
        allowPrivate: false,
        resolve,
      })
    await expect(add('https://hooks.example.com/services/x')).rejects.toThrow(
      `url: hooks.example.com resolves to a private address; destinations must be public (${FLAG})`,
    )
    await expect(add('https://nowhere.example/x')).rejects.toThrow(
      'url: the host nowhere.example does not resolve (ENOTFOUND)',
    )
  })

  test('a public https URL is saved sealed, listed by its hint; a webhook gets a secret once', async () => {
    const added = await addDestination(
      t.data,
      t.store,
      {
        type: 'webhook',
        url: 'https://93.184.216.34/hooks/T123/very-secret-token',
        name: ' Warehouse ',
      },
      t.clock,
      PUBLIC_ONLY,
    )
    expect(added.secret).toMatch(/^whsec_[0-9A-Za-z]{32}$/)
    expect(added.destination).toEqual({
      id: added.destination.id,
      storeId: t.storeId,
      type: 'webhook',
      name: 'Warehouse',
      urlHint: 'https://93.184.216.34/hooks/…',
      createdAt: t.clock.now().epochMilliseconds,
    })
    const slack = await addDestination(
      t.data,
      t.store,
      { type: 'slack', url: 'https://93.184.216.34/services/T0/B0/XXXX' },
      t.clock,
      PUBLIC_ONLY,
    )
    expect(slack.secret).toBeNull()
    expect(slack.destination.name).toBe('93.184.216.34')
    const stored = await t.data.all<{ url: string; secret: string | null }>(
      'SELECT url, secret FROM destinations ORDER BY id',
    )
    for (const row of stored) {
      expect(row.url).toStartWith('enc:v1:')
      expect(row.url).not.toContain('secret-token')
    }
    expect(stored[0]?.secret).toStartWith('enc:v1:')
    expect(stored[0]?.secret).not.toContain(added.secret as string)
    expect(JSON.stringify(await listDestinations(t.data, t.store))).not.toContain(
      'very-secret-token',
    )
  })

  test('a bad type or name is named', async () => {
    const add = (input: { type: string; url: string; name?: string }) =>
      addDestination(t.data, t.store, input, t.clock, PUBLIC_ONLY)
    await expect(add({ type: 'email', url: 'https://93.184.216.34/' })).rejects.toThrow(
      'type: must be webhook or slack, got "email"',
    )
    await expect(
      add({ type: 'slack', url: 'https://93.184.216.34/', name: 'x'.repeat(101) }),
    ).rejects.toThrow('name: at most 100 characters')
  })
})

describe('webhook deliveries', () => {
  test('a scheduled sync is POSTed once, signed, with the sync body exactly as stored', async () => {
    const verify = await readmeVerifier()
    const { destination, secret } = await addHook()
    await seedDay()
    await scheduledSync()
    expect(await sender().runOnce()).toEqual({ sent: 1, failed: 0, unsendable: 0, expired: 0 })
    const [row] = await deliveries()
    expect(row).toMatchObject({
      status: 'sent',
      attempts: 1,
      smtp_response: 'HTTP 200',
      last_error: null,
    })
    expect(receiver.received).toHaveLength(1)
    const got = receiver.received[0]!
    const at = Math.floor(t.clock.now().epochMilliseconds / 1000)
    expect(got.method).toBe('POST')
    expect(got.path).toBe('/hook')
    expect(got.body).toBe((await storedBody()) as string)
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['x-mida-event']).toBe('sync.succeeded')
    expect(got.headers['x-mida-delivery']).toBe(String(row?.id))
    expect(got.headers['user-agent']).toMatch(/^mida-export\/\d+\.\d+\.\d+ \(destinations\)$/)
    const signature = got.headers['x-mida-signature'] as string
    expect(signature).toMatch(new RegExp(`^t=${at},v1=[0-9a-f]{64}$`))
    // The README's check accepts it, and refuses a wrong secret, a changed body, a stale time.
    const now = t.clock.now().epochMilliseconds
    expect(verify(secret as string, signature, got.body, now)).toBe(true)
    expect(verify(`${secret}x`, signature, got.body, now)).toBe(false)
    expect(
      verify(secret as string, signature, got.body.replace('"success":true', '"success":1'), now),
    ).toBe(false)
    expect(verify(secret as string, signature, got.body, now + 301_000)).toBe(false)
    expect(
      (await recentDeliveries(t.data, t.store, destination.id)).map((d) => [
        d.event,
        d.status,
        d.response,
      ]),
    ).toEqual([['sync.succeeded', 'sent', 'HTTP 200']])
  })

  test.skipIf(!Bun.which('python3'))(
    'the README Python check accepts a captured delivery',
    async () => {
      const { secret } = await addHook()
      await scheduledSync()
      await sender().runOnce()
      const got = receiver.received[0]!
      const run = (key: string, body: string) => {
        const p = Bun.spawnSync(
          [
            'python3',
            PYTHON_VERIFIER,
            key,
            got.headers['x-mida-signature'] as string,
            String(t.clock.now().epochMilliseconds / 1000),
          ],
          { stdin: new TextEncoder().encode(body) },
        )
        return p.stdout.toString()
      }
      expect(run(secret as string, got.body)).toBe('valid\n')
      expect(run(secret as string, `${got.body} `)).toBe('invalid\n')
      expect(run(`${secret}x`, got.body)).toBe('invalid\n')
    },
  )

  test('each period is received once: two senders at once, a resync, a restart on the same database', async () => {
    await addHook()
    // The first process: syncs the day, two senders run at once.
    const first = await openCore({ config: t.config, clock: t.clock })
    await scheduledSync('2026-11-25', t.store, first.data)
    const runs = await Promise.all([
      sender(ALLOWED, 'a', first.data).runOnce(),
      sender(ALLOWED, 'b', first.data).runOnce(),
    ])
    expect(runs.map((r) => r.sent).sort()).toEqual([0, 1])
    // New data makes the next sync recompute the day: still no second delivery.
    await seedDay()
    expect((await scheduledSync('2026-11-25', t.store, first.data)).computed).toBe(true)
    await closeCore(first)
    // The restart: a new core on the same database syncs the day again, a new sender runs.
    const second = await openCore({ config: t.config, clock: t.clock })
    try {
      await scheduledSync('2026-11-25', t.store, second.data)
      expect(await sender(ALLOWED, 'c', second.data).runOnce()).toEqual({
        sent: 0,
        failed: 0,
        unsendable: 0,
        expired: 0,
      })
      // The next day is the next period: delivered once.
      t.clock.advance({ hours: 24 })
      await scheduledSync('2026-11-26', t.store, second.data)
      await Promise.all([
        sender(ALLOWED, 'd', second.data).runOnce(),
        sender(ALLOWED, 'e', second.data).runOnce(),
      ])
    } finally {
      await closeCore(second)
    }
    expect(receiver.received.map((r) => JSON.parse(r.body).period.label)).toEqual([
      '2026-11-25',
      '2026-11-26',
    ])
    expect(new Set(receiver.received.map((r) => r.headers['x-mida-delivery'])).size).toBe(2)
  })

  test('a failing receiver (500) is retried on the backoff schedule, then given up with a log line', async () => {
    receiver.answer(() => new Response('down', { status: 500 }))
    await addHook()
    await scheduledSync()
    const s = sender()
    expect(await s.runOnce()).toEqual({ sent: 0, failed: 1, unsendable: 0, expired: 0 })
    const [first] = await deliveries()
    expect(first).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500' })
    expect(first?.next_attempt_at).toBe(t.clock.now().epochMilliseconds + 10_000)
    // Not before it is due.
    t.clock.advance({ seconds: 9 })
    expect((await s.runOnce()).failed).toBe(0)
    expect(receiver.received).toHaveLength(1)
    // Then each retry when due: 10 s, 20 s, 40 s … doubling to 10 minutes.
    const waits: number[] = []
    for (;;) {
      const [row] = await deliveries()
      if (row?.status !== 'pending') break
      waits.push((row.next_attempt_at - t.clock.now().epochMilliseconds) / 1000)
      t.clock.set(Temporal.Instant.fromEpochMilliseconds(row.next_attempt_at))
      expect((await s.runOnce()).failed).toBe(1)
    }
    expect(waits.slice(0, 8)).toEqual([1, 20, 40, 80, 160, 320, 600, 600])
    const [last] = await deliveries()
    expect(last?.status).toBe('failed')
    expect(last?.last_error).toBe('HTTP 500')
    expect(last?.attempts).toBe(receiver.received.length)
    // Every attempt names the same delivery; each is signed at its own time.
    expect(new Set(receiver.received.map((r) => r.headers['x-mida-delivery']))).toEqual(
      new Set([String(last?.id)]),
    )
    const times = receiver.received.map(
      (r) => /^t=(\d+),/.exec(r.headers['x-mida-signature'] ?? '')?.[1],
    )
    expect(new Set(times).size).toBe(receiver.received.length)
    // The last attempt came before the 24 hours ran out; the next would have come after.
    const lastAt = t.clock.now().epochMilliseconds
    expect(lastAt).toBeLessThanOrEqual((first?.created_at as number) + 24 * 3_600_000)
    expect(lastAt + retryDelayMs(last?.attempts as number)).toBeGreaterThan(
      (first?.created_at as number) + 24 * 3_600_000,
    )
    expect(logs.at(-1)).toBe(
      `Delivery ${last?.id} to destination "Hook" (${receiver.url}/…) of store "default" failed (attempt ${last?.attempts}): HTTP 500; given up\n`,
    )
    const [shown] = await recentDeliveries(
      t.data,
      t.store,
      (await listDestinations(t.data, t.store))[0]!.id,
    )
    expect(shown).toMatchObject({
      status: 'failed',
      lastError: 'HTTP 500',
      attempts: last?.attempts,
    })
  })

  test('a delivery never tried within 24 hours (the server was down) is given up with a log line', async () => {
    await addHook()
    await scheduledSync()
    t.clock.advance({ hours: 25 })
    expect(await sender().runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 0, expired: 1 })
    expect(receiver.received).toEqual([])
    const [row] = await deliveries()
    expect(row).toMatchObject({
      status: 'failed',
      attempts: 0,
      last_error: 'Not delivered within 24 hours',
    })
    expect(logs).toEqual([
      `Delivery ${row?.id} to destination "Hook" (${receiver.url}/…) of store "default" not delivered within 24 hours; given up\n`,
    ])
  })

  test('a receiver that cannot be reached: a failed attempt naming the error code, not the URL', async () => {
    const closed = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const port = closed.port
    closed.stop(true)
    await addDestination(
      t.data,
      t.store,
      { type: 'slack', url: `http://127.0.0.1:${port}/services/T/B/token-part`, name: 'Gone' },
      t.clock,
      ALLOWED,
    )
    await scheduledSync()
    expect((await sender().runOnce()).failed).toBe(1)
    expect((await deliveries())[0]?.last_error).toBe('Could not connect (ECONNREFUSED)')
    expect(logs.join('')).not.toContain('token-part')
  })

  test('a redirect (302) is not followed: a failed attempt', async () => {
    receiver.answer((r) =>
      r.path === '/hook'
        ? new Response(null, { status: 302, headers: { location: `${receiver.url}/elsewhere` } })
        : new Response('ok'),
    )
    await addHook()
    await scheduledSync()
    expect((await sender().runOnce()).failed).toBe(1)
    expect(receiver.received.map((r) => r.path)).toEqual(['/hook'])
    expect((await deliveries())[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: 'HTTP 302: a redirect, not followed',
    })
  })

  test('a receiver that does not answer is cut at the timeout (10 s; shortened here)', async () => {
    expect(DELIVERY_TIMEOUT_MS).toBe(10_000)
    const { promise: released, resolve: release } = Promise.withResolvers<Response>()
    receiver.answer(() => released)
    await addHook()
    await scheduledSync()
    try {
      expect((await sender({ allowPrivate: true, timeoutMs: 300 }).runOnce()).failed).toBe(1)
    } finally {
      release(new Response('too late'))
    }
    expect((await deliveries())[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: 'No answer within 0.3 s',
    })
  })

  test('a host that resolves to a public address when checked and to a loopback one at connection time (DNS rebinding) is not reached', async () => {
    // The name server answers a public address first (the check before the request), then the
    // receiver's loopback address: the connection's own lookup checks what it connects to.
    const answers: string[][] = [['93.184.216.34'], ['93.184.216.34'], ['127.0.0.1']]
    const asked: string[] = []
    const resolve = async (host: string) => {
      asked.push(host)
      return answers.shift() ?? ['127.0.0.1']
    }
    const options: DeliveryOptions = { allowPrivate: false, resolve }
    await addDestination(
      t.data,
      t.store,
      { type: 'webhook', url: `https://rebind.example:${receiver.port}/hook`, name: 'Rebind' },
      t.clock,
      options,
    )
    await scheduledSync()
    expect(await sender(options).runOnce()).toMatchObject({ sent: 0, failed: 1 })
    // Asked at save, before the request, and by the connection itself.
    expect(asked).toEqual(['rebind.example', 'rebind.example', 'rebind.example'])
    expect(receiver.received).toEqual([])
    expect((await deliveries()).map((d) => [d.status, d.last_error])).toEqual([
      [
        'pending',
        'url: rebind.example resolves to a loopback address; destinations must be public',
      ],
    ])
  })

  test('saved with the flag, refused at send without it (an address or http://): a failed attempt', async () => {
    await addDestination(
      t.data,
      t.store,
      { type: 'webhook', url: `https://127.0.0.1:${receiver.port}/hook`, name: 'Loopback' },
      t.clock,
      ALLOWED,
    )
    await addHook('/plain', ALLOWED, t.store, 'Plain')
    await scheduledSync()
    expect(await sender(PUBLIC_ONLY).runOnce()).toEqual({
      sent: 0,
      failed: 2,
      unsendable: 0,
      expired: 0,
    })
    expect(receiver.received).toEqual([])
    expect((await deliveries()).map((d) => [d.status, d.last_error])).toEqual([
      ['pending', `url: 127.0.0.1 is a loopback address; destinations must be public (${FLAG})`],
      [
        'pending',
        'url: must start with https:// (http:// only with MIDA_ALLOW_PRIVATE_DESTINATIONS=true)',
      ],
    ])
  })

  test('a failed sync is delivered as sync.failed, with the documented body and not the inner error', async () => {
    await addHook()
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    await expect(scheduledSync()).rejects.toThrow('Sync failed')
    await t.data.run('ALTER TABLE sessions_gone RENAME TO sessions')
    await sender().runOnce()
    const got = receiver.received[0]!
    expect(got.headers['x-mida-event']).toBe('sync.failed')
    expect(JSON.parse(got.body)).toEqual({
      success: false,
      error: 'Sync failed',
      frequency: 'daily',
      period: {
        start: '2026-11-25T00:00:00+00:00',
        end: '2026-11-26T00:00:00+00:00',
        label: '2026-11-25',
        timezone: 'UTC',
      },
      synced_at: '2026-11-26T06:00:00.000Z',
    })
  })
})

describe('Slack', () => {
  test('the message names the store, the period and the headline figures; a failure, not its inner error', async () => {
    await updateSettings(t.data, t.store, { store_name: 'Bob & <Sons>', currency: 'EUR' }, t.clock)
    await addDestination(
      t.data,
      t.store,
      { type: 'slack', url: `${receiver.url}/services/T/B/X` },
      t.clock,
      ALLOWED,
    )
    await seedDay(t.store, 3, '1234.50')
    await scheduledSync()
    await sender().runOnce()
    const got = receiver.received[0]!
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['x-mida-signature']).toBeUndefined()
    expect(JSON.parse(got.body)).toEqual({
      text: '✅ Bob &amp; &lt;Sons&gt;: daily sync of 2026-11-25: 3 sessions, 1 order, €1,234.50 revenue',
    })
    // The next day fails.
    t.clock.advance({ hours: 24 })
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    await expect(scheduledSync('2026-11-26')).rejects.toThrow('Sync failed')
    await t.data.run('ALTER TABLE sessions_gone RENAME TO sessions')
    await sender().runOnce()
    // What went wrong inside stays in the sync log and the email: never posted outside.
    expect(JSON.parse(receiver.received[1]!.body)).toEqual({
      text: '❌ Bob &amp; &lt;Sons&gt;: daily sync of 2026-11-26 failed (the sync log on the settings page says why)',
    })
    // Send test: a message naming the store, unsigned as every Slack message.
    const [slack] = await listDestinations(t.data, t.store)
    await testDestination(t.data, t.store, slack!.id, t.clock, ALLOWED)
    expect(receiver.received[2]?.headers['x-mida-event']).toBeUndefined()
    expect(JSON.parse(receiver.received[2]!.body)).toEqual({
      text: '👋 Test message from mida-export for the store Bob &amp; &lt;Sons&gt;: syncs will be posted here.',
    })
  })
})

describe('channels and stores', () => {
  let sink: SmtpSink
  beforeEach(async () => {
    sink = await startSmtpSink()
  })
  afterEach(async () => {
    await sink.stop()
  })

  test("a failing destination holds back neither the store's emails nor its other destinations", async () => {
    await updateSettings(
      t.data,
      t.store,
      {
        store_email: 'owner@shop.example',
        notify_success: true,
        smtp_host: '127.0.0.1',
        smtp_port: sink.port,
        smtp_security: 'none',
        smtp_from: 'mida@shop.example',
      },
      t.clock,
    )
    receiver.answer(
      (r) =>
        new Response(r.path === '/bad' ? 'no' : 'ok', { status: r.path === '/bad' ? 500 : 200 }),
    )
    await addHook('/bad', ALLOWED, t.store, 'Bad')
    await addHook('/good', ALLOWED, t.store, 'Good')
    t.clock.set('2026-11-26T05:00:00Z')
    await scheduledSync('2026-11-24')
    t.clock.set(NOW)
    await scheduledSync('2026-11-25')
    expect(await sender().runOnce()).toEqual({ sent: 4, failed: 1, unsendable: 0, expired: 0 })
    expect(sink.messages).toHaveLength(2)
    expect(receiver.received.map((r) => r.path).sort()).toEqual(['/bad', '/good', '/good'])
    const bad = await t.data.all<{ attempts: number; last_error: string; status: string }>(
      `SELECT o.attempts, o.last_error, o.status FROM outbox o JOIN destinations d ON d.id = o.destination_id
       WHERE d.name = 'Bad' ORDER BY o.id`,
    )
    expect(bad).toEqual([
      { attempts: 1, last_error: 'HTTP 500', status: 'pending' },
      {
        attempts: 0,
        last_error: 'not tried yet: this destination failed an earlier delivery of this run',
        status: 'pending',
      },
    ])
  })

  test("each store's destinations get that store's syncs only", async () => {
    const other = await createStore(t.data, { slug: 'other', timezone: 'UTC' }, t.clock, {
      actor: 'cli',
      address: null,
    })
    await updateSettings(t.data, other, { currency: 'EUR' }, t.clock)
    await addHook('/main')
    await addHook('/other', ALLOWED, other, 'Other hook')
    await seedDay(t.store, 2)
    await seedDay(other, 5)
    await scheduledSync('2026-11-25', t.store)
    await scheduledSync('2026-11-25', other)
    await sender().runOnce()
    const byPath = Object.fromEntries(receiver.received.map((r) => [r.path, r.body]))
    expect(Object.keys(byPath).sort()).toEqual(['/main', '/other'])
    expect(byPath['/main']).toBe((await storedBody(t.store)) as string)
    expect(byPath['/other']).toBe((await storedBody(other)) as string)
    expect(JSON.parse(byPath['/other'] as string)).toMatchObject({
      currency: 'EUR',
      data: { total_sessions: 5 },
    })
    expect(JSON.parse(byPath['/main'] as string)).toMatchObject({
      currency: 'USD',
      data: { total_sessions: 2 },
    })
  })
})

describe('sealing', () => {
  test('destinations saved before MIDA_SECRET_KEY was set are sealed at the next start, and still delivered', async () => {
    const plainConfig = { ...t.config, secretKey: undefined }
    const before = await openCore({ config: plainConfig, clock: t.clock })
    await addDestination(
      before.data,
      t.store,
      { type: 'webhook', url: `${receiver.url}/plain-path` },
      t.clock,
      ALLOWED,
    )
    await closeCore(before)
    expect(await t.data.get('SELECT url FROM destinations')).toEqual({
      url: `${receiver.url}/plain-path`,
    })

    const lines: string[] = []
    const after = await openCore({
      config: t.config,
      clock: t.clock,
      log: (line) => lines.push(line),
    })
    await closeCore(after)
    expect(lines).toEqual([
      'Sealed the URLs and secrets of 1 destination(s), saved before MIDA_SECRET_KEY was set',
    ])
    const row = await t.data.get<{ url: string; secret: string }>(
      'SELECT url, secret FROM destinations',
    )
    expect([row?.url.slice(0, 7), row?.secret.slice(0, 7)]).toEqual(['enc:v1:', 'enc:v1:'])
    await scheduledSync()
    expect((await sender().runOnce()).sent).toBe(1)
    expect(receiver.received.map((r) => r.path)).toEqual(['/plain-path'])
  })
})

describe('Send test', () => {
  test('delivers sync.test at once, signed, recorded as a test with its final status, never retried', async () => {
    const verify = await readmeVerifier()
    const { destination, secret } = await addHook()
    const ok = await testDestination(t.data, t.store, destination.id, t.clock, ALLOWED)
    expect(ok.delivery).toMatchObject({
      kind: 'test',
      event: 'sync.test',
      status: 'sent',
      attempts: 1,
      response: 'HTTP 200',
    })
    const got = receiver.received[0]!
    expect(got.headers['x-mida-event']).toBe('sync.test')
    expect(got.headers['x-mida-delivery']).toBe(String(ok.delivery.id))
    expect(
      verify(
        secret as string,
        got.headers['x-mida-signature'] as string,
        got.body,
        t.clock.now().epochMilliseconds,
      ),
    ).toBe(true)
    expect(JSON.parse(got.body)).toEqual({
      success: true,
      event: 'sync.test',
      message: 'Test delivery from mida-export',
      store: 'default',
      sent_at: '2026-11-26T06:00:00.000Z',
    })

    receiver.answer(() => new Response('no', { status: 503 }))
    const failed = await testDestination(t.data, t.store, destination.id, t.clock, ALLOWED)
    expect(failed.delivery).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'HTTP 503',
      nextAttemptAt: null,
    })
    // Never retried, even much later.
    t.clock.advance({ hours: 1 })
    expect(await sender().runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 0, expired: 0 })
    expect(receiver.received).toHaveLength(2)
    expect((await recentDeliveries(t.data, t.store, destination.id)).map((d) => d.status)).toEqual([
      'failed',
      'sent',
    ])
    // Refused at send like a delivery: the address rules hold for tests too.
    const refused = await testDestination(t.data, t.store, destination.id, t.clock, PUBLIC_ONLY)
    expect(refused.delivery.lastError).toBe(
      'url: must start with https:// (http:// only with MIDA_ALLOW_PRIVATE_DESTINATIONS=true)',
    )
  })

  test('a destination of another store is not found; removing one takes its deliveries', async () => {
    const other = await createStore(t.data, { slug: 'other', timezone: 'UTC' }, t.clock, {
      actor: 'cli',
      address: null,
    })
    const { destination } = await addHook()
    await expect(testDestination(t.data, other, destination.id, t.clock, ALLOWED)).rejects.toThrow(
      `No destination "${destination.id}" in this store`,
    )
    await expect(removeDestination(t.data, other, destination.id, t.clock)).rejects.toMatchObject({
      status: 404,
    })
    await scheduledSync()
    await removeDestination(t.data, t.store, destination.id, t.clock)
    expect(await deliveries()).toEqual([])
    expect(await listDestinations(t.data, t.store)).toEqual([])
  })
})
