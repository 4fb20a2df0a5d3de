// The scheduler and the outbox sender with several stores: each store is synced and mailed at its
// own hour in its own time zone, and a failing or slow store never holds back the others.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createServer, type Server, type Socket } from 'node:net'
import type { Data, SqlValue } from '../../src/db/data.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { configuredMailer } from '../../src/domain/mailer.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
import { orderInput, sessionInput } from '../../src/domain/records.ts'
import { Scheduler, type TickOutcome } from '../../src/domain/scheduler.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { createStore, type Store } from '../../src/domain/stores.ts'
import { waitUntil } from '../reliability/child.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, onPostgres, type TestApp } from '../utils.ts'

/** Sunday 29 November 2026, 00:00 UTC: Saturday evening in New York, Sunday morning in Tokyo. */
const START = '2026-11-29T00:00:00Z'

/** The three stores: their zones, sync hours and frequencies differ, and so do their figures. */
const STORES = {
  default: {
    name: 'Acme New York',
    timezone: 'America/New_York',
    currency: 'USD',
    sync_hour: 1,
    sync_frequency: 'daily',
    recipient: 'ny@acme.test',
    /** Sessions per day; each day's one order is worth 100 × perDay + the day of the month. */
    perDay: 1,
  },
  tokyo: {
    name: 'Acme Tokyo',
    timezone: 'Asia/Tokyo',
    currency: 'JPY',
    sync_hour: 6,
    sync_frequency: 'daily',
    recipient: 'tokyo@acme.test',
    perDay: 2,
  },
  berlin: {
    name: 'Acme Berlin',
    timezone: 'Europe/Berlin',
    currency: 'EUR',
    sync_hour: 3,
    sync_frequency: 'weekly',
    recipient: 'berlin@acme.test',
    perDay: 3,
  },
} as const

type Slug = keyof typeof STORES

let t: TestApp
let sink: SmtpSink
let stores: Record<Slug, Store>
let logs: string[]

beforeEach(async () => {
  sink = await startSmtpSink()
  t = await createTestApp({ now: START })
  logs = []
  const by = { actor: 'cli', address: null }
  stores = {
    default: t.store,
    tokyo: await createStore(t.data, { slug: 'tokyo' }, t.clock, by),
    berlin: await createStore(t.data, { slug: 'berlin' }, t.clock, by),
  }
  for (const slug of Object.keys(STORES) as Slug[]) {
    const s = STORES[slug]
    await updateSettings(
      t.data,
      stores[slug],
      {
        store_name: s.name,
        timezone: s.timezone,
        currency: s.currency,
        sync_hour: s.sync_hour,
        sync_frequency: s.sync_frequency,
        week_start: 'monday',
        api_enabled: true,
        notify_success: true,
        store_email: s.recipient,
        ...smtpTo(sink.port),
      },
      t.clock,
    )
    await seed(slug)
  }
})

afterEach(async () => {
  t.close()
  await sink.stop()
})

/** The SMTP settings of a store whose mail goes to a server on this loopback port. */
function smtpTo(port: number) {
  return {
    smtp_host: '127.0.0.1',
    smtp_port: port,
    smtp_security: 'none',
    smtp_from: 'mida@acme.test',
  }
}

/**
 * Each store's sessions and orders from 16 to 30 November, in its own time zone: `perDay`
 * sessions of as many visitors at noon, and one order worth 100 × perDay + the day of the month.
 */
async function seed(slug: Slug): Promise<void> {
  const { timezone, currency, perDay } = STORES[slug]
  const sessions = []
  const orders = []
  for (let day = 16; day <= 30; day++) {
    const noon = Temporal.ZonedDateTime.from({
      timeZone: timezone,
      year: 2026,
      month: 11,
      day,
      hour: 12,
    })
    for (let i = 0; i < perDay; i++) {
      const at = noon.add({ minutes: i }).toInstant().toString()
      sessions.push(
        sessionInput.parse({ id: `s-${day}-${i}`, visitor_id: `v-${day}-${i}`, started_at: at }),
      )
    }
    orders.push(
      orderInput.parse({
        id: `o-${day}`,
        created_at: noon.add({ minutes: 30 }).toInstant().toString(),
        total_price: String(100 * perDay + day),
        currency,
      }),
    )
  }
  await writeSessions(t.data, stores[slug], sessions, t.clock)
  await writeOrders(t.data, stores[slug], orders, t.clock)
}

function scheduler(data: Data = t.data): Scheduler {
  return new Scheduler({ data, clock: t.clock, owner: 'node-1', log: (l) => logs.push(l) })
}

function sender(): OutboxSender {
  return new OutboxSender({
    data: t.data,
    clock: t.clock,
    mailer: configuredMailer(t.config, t.data),
    baseUrl: 'https://stats.acme.test',
    owner: 'node-1',
    log: (l) => logs.push(l),
  })
}

const slugOf = (storeId: number): Slug =>
  (Object.keys(stores) as Slug[]).find((slug) => stores[slug].id === storeId) as Slug

/** A tick's outcomes as `[slug, period, result]`, in store order. */
const named = (outcomes: TickOutcome[]) =>
  outcomes
    .toSorted((a, b) => a.storeId - b.storeId)
    .map((o) => [slugOf(o.storeId), o.periodLabel, o.result])

/** Every sync record: `[slug, period, status, trigger]`, by store and period. */
async function syncRecords(): Promise<string[][]> {
  const rows = await t.data.all<{ slug: string; label: string; status: string; trigger: string }>(
    `SELECT s.slug, r.period_label AS label, r.status, r.trigger FROM sync_records r
     JOIN stores s ON s.id = r.store_id ORDER BY s.id, r.period_start`,
  )
  return rows.map((r) => [r.slug, r.label, r.status, r.trigger])
}

/** The plain-text body of a received message (quoted-printable decoded). */
function textBody(raw: string): string {
  const part = raw.split(/\r?\n--/).find((p) => /content-type:\s*text\/plain/i.test(p)) ?? ''
  const split = part.search(/\r?\n\r?\n/)
  const head = part.slice(0, split)
  let body = part.slice(split).replace(/^\r?\n\r?\n/, '')
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    const soft = body.replace(/=\r?\n/g, '')
    const bytes: number[] = []
    for (let i = 0; i < soft.length; i++) {
      const hex = soft.slice(i + 1, i + 3)
      if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
        bytes.push(Number.parseInt(hex, 16))
        i += 2
      } else bytes.push(soft.charCodeAt(i))
    }
    body = Buffer.from(bytes).toString('utf8')
  }
  return body.replace(/\r\n/g, '\n')
}

/** The `Label: value` lines of a notification's text body, as [label, value] pairs. */
function facts(raw: string): [string, string][] {
  return textBody(raw)
    .split('\n')
    .map((line) => /^([A-Z][A-Za-z ]+):\s+(.*)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => [m[1] as string, m[2] as string])
}

describe('each store at its own hour', () => {
  test('three stores in three time zones: synced at each one’s sync hour in its own zone, one record per period, one email each through SMTP in store time', async () => {
    const sched = scheduler()
    const send = sender()
    const synced: string[][] = []
    const other: string[][] = []
    // Hour by hour from Sunday 00:00 UTC to Tuesday 06:00 UTC (over Berlin's Monday).
    const end = Temporal.Instant.from('2026-12-01T06:00:00Z')
    for (
      let now = Temporal.Instant.from(START);
      Temporal.Instant.compare(now, end) <= 0;
      now = now.add({ hours: 1 })
    ) {
      t.clock.set(now.toString())
      for (const [slug, label, result] of named(await sched.tick())) {
        if (result === 'synced') synced.push([now.toString(), slug as string, label as string])
        else if (result !== 'done') other.push([now.toString(), slug as string, result as string])
      }
      await send.runOnce()
    }
    expect(synced).toEqual([
      // The first tick catches up each store's latest due period.
      ['2026-11-29T00:00:00Z', 'default', '2026-11-27'],
      ['2026-11-29T00:00:00Z', 'tokyo', '2026-11-28'],
      ['2026-11-29T00:00:00Z', 'berlin', '2026-11-16/2026-11-22'],
      // 01:00 EST in New York.
      ['2026-11-29T06:00:00Z', 'default', '2026-11-28'],
      // 06:00 JST in Tokyo (Monday 30th there).
      ['2026-11-29T21:00:00Z', 'tokyo', '2026-11-29'],
      // Monday 03:00 CET in Berlin: the week that ended at midnight.
      ['2026-11-30T02:00:00Z', 'berlin', '2026-11-23/2026-11-29'],
      ['2026-11-30T06:00:00Z', 'default', '2026-11-29'],
      ['2026-11-30T21:00:00Z', 'tokyo', '2026-11-30'],
      ['2026-12-01T06:00:00Z', 'default', '2026-11-30'],
    ])
    expect(other).toEqual([])
    expect(logs).toEqual([])
    expect(await syncRecords()).toEqual([
      ['default', '2026-11-27', 'success', 'scheduler'],
      ['default', '2026-11-28', 'success', 'scheduler'],
      ['default', '2026-11-29', 'success', 'scheduler'],
      ['default', '2026-11-30', 'success', 'scheduler'],
      ['tokyo', '2026-11-28', 'success', 'scheduler'],
      ['tokyo', '2026-11-29', 'success', 'scheduler'],
      ['tokyo', '2026-11-30', 'success', 'scheduler'],
      ['berlin', '2026-11-16/2026-11-22', 'success', 'scheduler'],
      ['berlin', '2026-11-23/2026-11-29', 'success', 'scheduler'],
    ])

    // Each store's emails went to its own recipient, subjects in its own store time.
    const mailTo = (recipient: string) =>
      sink.messages.filter((m) => m.to.join() === recipient).map((m) => m.subject)
    expect(sink.messages).toHaveLength(9)
    expect(mailTo('ny@acme.test')).toEqual([
      '[Analytics Sync] Success - 2026-11-28 19:00',
      '[Analytics Sync] Success - 2026-11-29 01:00',
      '[Analytics Sync] Success - 2026-11-30 01:00',
      '[Analytics Sync] Success - 2026-12-01 01:00',
    ])
    expect(mailTo('tokyo@acme.test')).toEqual([
      '[Analytics Sync] Success - 2026-11-29 09:00',
      '[Analytics Sync] Success - 2026-11-30 06:00',
      '[Analytics Sync] Success - 2026-12-01 06:00',
    ])
    expect(mailTo('berlin@acme.test')).toEqual([
      '[Analytics Sync] Success - 2026-11-29 01:00',
      '[Analytics Sync] Success - 2026-11-30 03:00',
    ])

    // The figures of each email are its own store's.
    const lines = (recipient: string, subject: string) =>
      facts(sink.messages.find((m) => m.to.join() === recipient && m.subject === subject)!.raw)
    expect(lines('ny@acme.test', '[Analytics Sync] Success - 2026-11-30 01:00')).toEqual([
      ['Store', 'Acme New York'],
      ['Status', 'Success'],
      ['Synced at', '2026-11-30 01:00 (America/New_York)'],
      ['Period', '2026-11-29 (daily, 2026-11-29 00:00 to 2026-11-30 00:00)'],
      ['Triggered by', 'scheduler'],
      ['Visitors', '1'],
      ['Sessions', '1'],
      ['Successful orders', '1'],
      ['Revenue', '$129.00'],
      ['Settings', 'https://stats.acme.test/stores/default/settings'],
    ])
    expect(lines('tokyo@acme.test', '[Analytics Sync] Success - 2026-11-30 06:00')).toEqual([
      ['Store', 'Acme Tokyo'],
      ['Status', 'Success'],
      ['Synced at', '2026-11-30 06:00 (Asia/Tokyo)'],
      ['Period', '2026-11-29 (daily, 2026-11-29 00:00 to 2026-11-30 00:00)'],
      ['Triggered by', 'scheduler'],
      ['Visitors', '2'],
      ['Sessions', '2'],
      ['Successful orders', '1'],
      ['Revenue', '¥229'],
      ['Settings', 'https://stats.acme.test/stores/tokyo/settings'],
    ])
    // 7 days × 3 sessions; orders of 300 + 23 … 300 + 29.
    expect(lines('berlin@acme.test', '[Analytics Sync] Success - 2026-11-30 03:00')).toEqual([
      ['Store', 'Acme Berlin'],
      ['Status', 'Success'],
      ['Synced at', '2026-11-30 03:00 (Europe/Berlin)'],
      ['Period', '2026-11-23/2026-11-29 (weekly, 2026-11-23 00:00 to 2026-11-30 00:00)'],
      ['Triggered by', 'scheduler'],
      ['Visitors', '21'],
      ['Sessions', '21'],
      ['Successful orders', '7'],
      ['Revenue', '€2,282.00'],
      ['Settings', 'https://stats.acme.test/stores/berlin/settings'],
    ])
  })
})

/**
 * Makes the database refuse one store's inserts into (or updates of) `table` with `message`, as a
 * broken disk or a violated constraint would: a trigger, the same refusal on both engines. `also`
 * narrows it (a condition on NEW and OLD).
 */
async function refuse(
  table: string,
  event: 'INSERT' | 'UPDATE',
  store: Store,
  message: string,
  also?: string,
): Promise<void> {
  const name = `refuse_${table}_${store.slug}`
  const when = `NEW.store_id = ${store.id}${also ? ` AND ${also}` : ''}`
  if (onPostgres) {
    await t.data.run(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$`,
    )
    await t.data.run(
      `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`,
    )
  } else {
    await t.data.run(
      `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} WHEN ${when} BEGIN SELECT RAISE(ABORT, '${message}'); END`,
    )
  }
}

/** Takes `refuse`'s trigger away. */
async function mend(table: string, store: Store): Promise<void> {
  await t.data.run(`DROP TRIGGER refuse_${table}_${store.slug}${onPostgres ? ` ON ${table}` : ''}`)
}

describe('a failing store', () => {
  test('one store whose claim cannot be written and one whose sync fails: both logged by slug, the third synced and mailed in the same tick, tick() does not throw', async () => {
    await refuse('sync_claims', 'INSERT', stores.tokyo, 'tokyo claims refused')
    await refuse('sync_records', 'INSERT', stores.berlin, 'berlin records refused')
    const sched = scheduler()
    // Tokyo's turn threw before it had an outcome; Berlin's sync failed and says so.
    expect(named(await sched.tick())).toEqual([
      ['default', '2026-11-27', 'synced'],
      ['berlin', '2026-11-16/2026-11-22', 'failed'],
    ])
    expect(logs.toSorted()).toEqual([
      'Scheduled weekly sync of "berlin" 2026-11-16/2026-11-22 failed: berlin records refused\n',
      'Scheduler: store "tokyo": tokyo claims refused\n',
    ])
    expect(await sender().runOnce()).toEqual({ sent: 1, failed: 0, unsendable: 0, expired: 0 })
    expect(sink.messages.map((m) => [m.to.join(), m.subject])).toEqual([
      ['ny@acme.test', '[Analytics Sync] Success - 2026-11-28 19:00'],
    ])
    expect(await syncRecords()).toEqual([['default', '2026-11-27', 'success', 'scheduler']])

    // Mended: Tokyo is synced at the next tick; Berlin's failed attempt waits its 15 minutes.
    await mend('sync_claims', stores.tokyo)
    await mend('sync_records', stores.berlin)
    t.clock.advance({ minutes: 14, seconds: 59 })
    expect(named(await sched.tick())).toEqual([
      ['default', '2026-11-27', 'done'],
      ['tokyo', '2026-11-28', 'synced'],
      ['berlin', '2026-11-16/2026-11-22', 'busy'],
    ])
    t.clock.advance({ seconds: 1 })
    expect(named(await sched.tick())).toEqual([
      ['default', '2026-11-27', 'done'],
      ['tokyo', '2026-11-28', 'done'],
      ['berlin', '2026-11-16/2026-11-22', 'synced'],
    ])
    expect(logs).toHaveLength(2)
    expect(await syncRecords()).toEqual([
      ['default', '2026-11-27', 'success', 'scheduler'],
      ['tokyo', '2026-11-28', 'success', 'scheduler'],
      ['berlin', '2026-11-16/2026-11-22', 'success', 'scheduler'],
    ])
  })

  test('a store whose emails the database will not lease again: logged by slug, the other stores’ emails sent and counted by the same run', async () => {
    expect((await scheduler().tick()).map((o) => o.result)).toEqual(['synced', 'synced', 'synced'])
    // Tokyo's row is taken with the others, but renewing its lease for the send is refused.
    await refuse(
      'outbox',
      'UPDATE',
      stores.tokyo,
      'tokyo outbox refused',
      'NEW.lease_owner = OLD.lease_owner',
    )
    const send = sender()
    expect(await send.runOnce()).toEqual({ sent: 2, failed: 0, unsendable: 0, expired: 0 })
    expect(logs).toEqual(['Outbox sender: store "tokyo": tokyo outbox refused\n'])
    expect(sink.messages.map((m) => m.to.join()).toSorted()).toEqual([
      'berlin@acme.test',
      'ny@acme.test',
    ])

    // Mended, Tokyo's email goes once the lease the refused run held has run out (2 minutes).
    await mend('outbox', stores.tokyo)
    t.clock.advance({ minutes: 1, seconds: 59 })
    expect(await send.runOnce()).toEqual({ sent: 0, failed: 0, unsendable: 0, expired: 0 })
    t.clock.advance({ seconds: 1 })
    expect(await send.runOnce()).toEqual({ sent: 1, failed: 0, unsendable: 0, expired: 0 })
    expect(sink.messages.at(-1)?.to).toEqual(['tokyo@acme.test'])
  })
})

/**
 * A loopback TCP server that accepts connections and never answers: an SMTP server that hangs.
 * `cut` closes the connections it holds (the send then fails at once).
 */
async function startSilentServer(): Promise<{
  port: number
  connections: () => number
  cut: () => void
  stop: () => Promise<void>
}> {
  const sockets: Socket[] = []
  const server: Server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('silent server did not start')
  return {
    port: address.port,
    connections: () => sockets.length,
    cut: () => {
      for (const s of sockets) s.destroy()
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * The data layer the scheduler is given, with the reads of one store's settings held until
 * `release`: that store's turn stays in flight. (Neither engine holds one store's work alone:
 * SQLite's one connection runs every statement in turn, and PostgreSQL's writes share one lock
 * while its reads wait on no row lock.)
 */
function holdingSettingsOf(store: Store): {
  data: Data
  reached: Promise<void>
  release: () => void
} {
  const data = t.data
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let arrive!: () => void
  const reached = new Promise<void>((resolve) => {
    arrive = resolve
  })
  const held = (sql: string, params: SqlValue[]) =>
    /FROM store_settings WHERE store_id = \?/.test(sql) && params[0] === store.id
  const holding: Data = {
    engine: data.engine,
    get cache() {
      return data.cache
    },
    get secrets() {
      return data.secrets
    },
    close: () => data.close(),
    all: async <Row>(sql: string, ...params: SqlValue[]) => {
      if (held(sql, params)) {
        arrive()
        await released
      }
      return data.all<Row>(sql, ...params)
    },
    get: (sql, ...params) => data.get(sql, ...params),
    values: (sql, ...params) => data.values(sql, ...params),
    run: (sql, ...params) => data.run(sql, ...params),
    tx: (work, options) => data.tx(work, options),
  }
  return { data: holding, reached, release }
}

/** Lets every callback already due run (a promise that should not settle yet gets its chance). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('a slow store', () => {
  test('a store whose SMTP server never answers: the other stores’ emails are delivered by the same run while its send still hangs', async () => {
    const silent = await startSilentServer()
    let running: Promise<unknown> | undefined
    try {
      await updateSettings(t.data, stores.tokyo, smtpTo(silent.port), t.clock)
      expect((await scheduler().tick()).map((o) => o.result)).toEqual([
        'synced',
        'synced',
        'synced',
      ])
      let ended = false
      running = sender()
        .runOnce()
        .finally(() => {
          ended = true
        })
      const arrived = await sink.waitFor(2)
      expect(arrived.map((m) => m.to.join()).toSorted()).toEqual([
        'berlin@acme.test',
        'ny@acme.test',
      ])
      // Both are recorded as sent, while Tokyo's send is still going: connected to its server,
      // waiting for a greeting.
      const statuses = () =>
        t.data.all<{ slug: string; status: string }>(
          'SELECT s.slug, o.status FROM outbox o JOIN stores s ON s.id = o.store_id ORDER BY s.id',
        )
      await waitUntil(
        async () => (await statuses()).filter((r) => r.status === 'sent').length === 2,
        'the two emails to be recorded as sent',
      )
      expect(await statuses()).toEqual([
        { slug: 'default', status: 'sent' },
        { slug: 'tokyo', status: 'pending' },
        { slug: 'berlin', status: 'sent' },
      ])
      expect(silent.connections()).toBe(1)
      await turn()
      expect(ended).toBe(false)

      // Its server drops the line: that send fails and is retried later; the run ends.
      silent.cut()
      expect(await running).toEqual({ sent: 2, failed: 1, unsendable: 0, expired: 0 })
      expect(
        await t.data.get<{ status: string; attempts: number }>(
          'SELECT status, attempts FROM outbox WHERE store_id = ?',
          stores.tokyo.id,
        ),
      ).toEqual({ status: 'pending', attempts: 1 })
      expect(sink.messages).toHaveLength(2)
    } finally {
      await silent.stop()
      // The run ends before the database closes.
      await running?.catch(() => {})
    }
  })

  test('while one store’s turn is in flight, the next tick skips it and syncs another store that became due, without waiting', async () => {
    t.clock.set('2026-11-29T06:00:00Z')
    const plain = scheduler()
    expect(named(await plain.tick())).toEqual([
      ['default', '2026-11-28', 'synced'],
      ['tokyo', '2026-11-28', 'synced'],
      ['berlin', '2026-11-16/2026-11-22', 'synced'],
    ])

    const hold = holdingSettingsOf(stores.tokyo)
    const sched = scheduler(hold.data)
    // The settings are read again (as after a save), Tokyo's are held.
    t.data.cache.invalidate()
    // 06:00 Monday in Tokyo: its Sunday is due, and its turn hangs on its settings.
    t.clock.set('2026-11-29T21:00:00Z')
    let firstDone = false
    const first = sched.tick().finally(() => {
      firstDone = true
    })
    await hold.reached
    // The first tick's turns of New York and Berlin end (nothing new is due for them at 21:00):
    // a tick skips a store still in flight, so tick until both have been handled again. (On
    // PostgreSQL a turn spans several round trips: ticks that skip everything come quicker.)
    const again = new Set<unknown>()
    for (let i = 0; !(again.has('default') && again.has('berlin')); i++) {
      if (i === 1000) throw new Error("the first tick's other turns did not end")
      for (const [slug] of named(await sched.tick())) again.add(slug)
      await Bun.sleep(2)
    }

    // 03:00 Monday in Berlin: its week is due; Tokyo's turn is still in flight.
    t.clock.set('2026-11-30T02:00:00Z')
    const later = named(await sched.tick())
    // Tokyo never: it is skipped, not waited for; New York has nothing new.
    expect(later.filter(([slug]) => slug !== 'default')).toEqual([
      ['berlin', '2026-11-23/2026-11-29', 'synced'],
    ])
    expect(later.filter(([slug, , result]) => slug === 'default' && result !== 'done')).toEqual([])
    await turn()
    expect(firstDone).toBe(false)
    expect(await syncRecords()).toEqual([
      ['default', '2026-11-28', 'success', 'scheduler'],
      ['tokyo', '2026-11-28', 'success', 'scheduler'],
      ['berlin', '2026-11-16/2026-11-22', 'success', 'scheduler'],
      ['berlin', '2026-11-23/2026-11-29', 'success', 'scheduler'],
    ])

    // Let go, Tokyo's turn ends with its Sunday synced (at 11:00 Monday, Tokyo time).
    hold.release()
    expect(named(await first)).toEqual([
      ['default', '2026-11-28', 'done'],
      ['tokyo', '2026-11-29', 'synced'],
      ['berlin', '2026-11-16/2026-11-22', 'done'],
    ])
    expect(await sender().runOnce()).toMatchObject({ sent: 5, failed: 0 })
    expect(
      sink.messages.filter((m) => m.to.join() === 'tokyo@acme.test').map((m) => m.subject),
    ).toEqual([
      '[Analytics Sync] Success - 2026-11-29 15:00',
      '[Analytics Sync] Success - 2026-11-30 11:00',
    ])
    expect(logs).toEqual([])
  })
})

describe('stopping', () => {
  test('stop() waits for the store still in flight, then its sync is recorded', async () => {
    const hold = holdingSettingsOf(stores.tokyo)
    const sched = scheduler(hold.data)
    sched.start(60_000)
    await hold.reached
    let stopped = false
    const stopping = sched.stop().then(() => {
      stopped = true
    })
    await turn()
    await turn()
    expect(stopped).toBe(false)
    hold.release()
    await stopping
    // Nothing of Tokyo's turn is left running: its record and claim are written.
    expect(await syncRecords()).toEqual([
      ['default', '2026-11-27', 'success', 'scheduler'],
      ['tokyo', '2026-11-28', 'success', 'scheduler'],
      ['berlin', '2026-11-16/2026-11-22', 'success', 'scheduler'],
    ])
    expect(
      await t.data.all(
        'SELECT store_id, done_at IS NOT NULL AS done FROM sync_claims ORDER BY store_id',
      ),
    ).toEqual([
      { store_id: stores.default.id, done: 1 },
      { store_id: stores.tokyo.id, done: 1 },
      { store_id: stores.berlin.id, done: 1 },
    ])
  })
})
