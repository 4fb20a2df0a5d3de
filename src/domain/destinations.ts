// Destinations (DESIGN.md "Destinations"): where each sync of a store's last completed period is
// pushed, a signed webhook or a Slack-compatible incoming webhook, through the outbox beside the
// emails. The URL (a Slack URL is itself a secret) and the signing secret are stored sealed.
import { createHmac } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import type { Data, Queries } from '../db/data.ts'
import { replaceLeavingNoCopy } from '../db/database.ts'
import {
  type DestinationRow,
  type DestinationType,
  deleteDestination,
  destinationById,
  destinationsOfStore,
  insertDestination,
  plaintextDestinations,
  replaceDestinationSecrets,
} from '../db/destinations.ts'
import {
  type DueRow,
  finishImmediateDelivery,
  insertImmediateDelivery,
  insertOutboxRow,
  type OutboxRow,
  outboxPayloadText,
  outboxRow,
  recentDeliveryRows,
  syncDedupe,
} from '../db/outbox.ts'
import { formatCount, formatMoney } from '../lib/format.ts'
import { randomBase62 } from '../lib/random.ts'
import { VERSION } from '../version.ts'
import { type AuditActor, recordAudit } from './audit.ts'
import { type Clock, nowMs } from './clock.ts'
import { InvalidInput, NotFound } from './errors.ts'
import type { SyncOutcome } from './notifications.ts'
import { periodJson } from './periods.ts'
import { isSealed, requireSecret, SEALED_PREFIX } from './secrets.ts'
import { readSettings, type StoreSettings } from './settings.ts'
import type { Store } from './stores.ts'

/** A destination as the page and the CLI show it: never its URL or secret. */
export interface Destination {
  id: number
  storeId: number
  type: DestinationType
  name: string
  /** Scheme, host and the start of the path: what may be shown of the URL. */
  urlHint: string
  createdAt: number
}

/** A destination just added, with its signing secret (a webhook's), shown this once. */
export interface AddedDestination {
  destination: Destination
  secret: string | null
}

/** How long a destination has to answer a delivery. */
export const DELIVERY_TIMEOUT_MS = 10_000

/** Resolves a host name to its addresses (all of them). */
type Resolver = (host: string) => Promise<string[]>

/** How deliveries reach destinations: the address rules and, for tests, the timeout. */
export interface DeliveryOptions {
  /** MIDA_ALLOW_PRIVATE_DESTINATIONS: loopback/private addresses and http:// allowed. */
  allowPrivate: boolean
  /** Tests only: the wait for an answer (default DELIVERY_TIMEOUT_MS). */
  timeoutMs?: number
  /** Tests only: name resolution (default: the system's, every address). */
  resolve?: Resolver
}

const TYPES: readonly DestinationType[] = ['webhook', 'slack']
const MAX_NAME = 100
const MAX_URL = 2000
const FLAG = 'MIDA_ALLOW_PRIVATE_DESTINATIONS=true'

const systemResolve: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)

function toDestination(r: DestinationRow): Destination {
  return {
    id: r.id,
    storeId: r.store_id,
    type: r.type,
    name: r.name,
    urlHint: r.url_hint,
    createdAt: r.created_at,
  }
}

// --- Address rules ------------------------------------------------------------------------

/** An IPv4 address's four bytes, or null. */
function ipv4Bytes(text: string): number[] | null {
  if (isIP(text) !== 4) return null
  return text.split('.').map(Number)
}

/** An IPv6 address's sixteen bytes (zone id dropped, a trailing dotted IPv4 read), or null. */
function ipv6Bytes(text: string): number[] | null {
  let plain = text.replace(/%.*$/, '')
  if (isIP(plain) !== 6) return null
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(plain)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number]
    plain = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = plain.split('::') as [string, string | undefined]
  const words = (s: string | undefined) =>
    s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []
  const h = words(head)
  const t = words(tail)
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t]
  return all.flatMap((w) => [w >> 8, w & 0xff])
}

/** Why an IPv4 address may not be reached (its kind), or null for a public one. */
function ipv4Refusal([a, b, c]: number[]): string | null {
  if (a === undefined || b === undefined || c === undefined) return 'invalid'
  if (a === 0) return 'unspecified'
  if (a === 192 && b === 0 && c === 0) return 'reserved'
  if (a === 198 && (b === 18 || b === 19)) return 'benchmarking'
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100)) {
    return 'documentation'
  }
  if (a === 203 && b === 0 && c === 113) return 'documentation'
  if (a === 127) return 'loopback'
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private'
  if (a === 169 && b === 254) return 'link-local'
  if (a === 100 && b >= 64 && b <= 127) return 'shared (CGNAT)'
  if (a >= 224 && a <= 239) return 'multicast'
  if (a >= 240) return 'reserved'
  return null
}

/**
 * Why an address may not be a destination's (loopback, private, link-local, unspecified, CGNAT,
 * multicast, reserved; IPv4-mapped and -compatible IPv6 forms as their IPv4), or null.
 */
export function addressRefusal(address: string): string | null {
  const v4 = ipv4Bytes(address)
  if (v4) return ipv4Refusal(v4)
  const v6 = ipv6Bytes(address)
  if (!v6) return 'invalid'
  const zeros = (n: number) => v6.slice(0, n).every((x) => x === 0)
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible) are IPv4 addresses in IPv6 form.
  if (zeros(10) && ((v6[10] === 0xff && v6[11] === 0xff) || (v6[10] === 0 && v6[11] === 0))) {
    if (zeros(16)) return 'unspecified'
    if (zeros(15) && v6[15] === 1) return 'loopback'
    return ipv4Refusal(v6.slice(12))
  }
  // 64:ff9b::/96 (NAT64) reaches the IPv4 address in its last four bytes.
  const nat64 = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
  if (nat64.every((x, i) => v6[i] === x)) return ipv4Refusal(v6.slice(12))
  // 64:ff9b:1::/48: NAT64 for a network's own use.
  if ([0, 0x64, 0xff, 0x9b, 0, 1].every((x, i) => v6[i] === x)) return 'private'
  const first = v6[0] as number
  const second = v6[1] as number
  // 2002::/16 (6to4) reaches the IPv4 address in its bytes 2 to 5.
  if (first === 0x20 && second === 0x02) return ipv4Refusal(v6.slice(2, 6))
  if (first === 0x20 && second === 0x01 && v6[2] === 0x0d && v6[3] === 0xb8) {
    return 'documentation'
  }
  if ((first & 0xfe) === 0xfc) return 'private'
  if (first === 0xfe && (second & 0xc0) === 0x80) return 'link-local'
  if (first === 0xfe && (second & 0xc0) === 0xc0) return 'site-local'
  if (first === 0xff) return 'multicast'
  return null
}

/** A URL's host without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1')
}

/**
 * Refuses a URL whose host is, or resolves to (any of its addresses), an address destinations
 * may not reach, unless `allowPrivate`; resolves to nothing when it may be reached.
 */
async function checkAddress(url: URL, options: DeliveryOptions): Promise<void> {
  if (options.allowPrivate) return
  const host = bareHost(url)
  // The resolved address is not named: the form would map a network's private names otherwise.
  const refuse = (address: string, why: string) => {
    const what = address === host ? `is ${article(why)}` : `resolves to ${article(why)}`
    throw new InvalidInput(
      `url: ${host} ${what} address; destinations must be public (${FLAG} allows private ones)`,
    )
  }
  if (isIP(host)) {
    const why = addressRefusal(host)
    if (why) refuse(host, why)
    return
  }
  if (host === 'localhost' || host.endsWith('.localhost')) refuse(host, 'loopback')
  let addresses: string[]
  try {
    addresses = await (options.resolve ?? systemResolve)(host)
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new InvalidInput(`url: the host ${host} does not resolve${code ? ` (${code})` : ''}`)
  }
  if (addresses.length === 0) throw new InvalidInput(`url: the host ${host} does not resolve`)
  for (const address of addresses) {
    const why = addressRefusal(address)
    if (why) refuse(address, why)
  }
}

/** A typed URL, checked for its form: https:// (http:// too with the flag), a host, no more. */
function parseUrl(text: string, allowPrivate: boolean): URL {
  const trimmed = text.trim()
  if (trimmed === '') throw new InvalidInput('url: required')
  if (trimmed.length > MAX_URL) throw new InvalidInput(`url: at most ${MAX_URL} characters`)
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    throw new InvalidInput('url: not a valid URL (it must start with https://)')
  }
  if (url.protocol === 'http:' && !allowPrivate) {
    throw new InvalidInput(`url: must start with https:// (http:// only with ${FLAG})`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidInput('url: must start with https://')
  }
  if (url.hostname === '') throw new InvalidInput('url: no host')
  url.hash = ''
  return url
}

/** What may be shown of a URL: scheme, host (and port), the first of several path segments. */
function urlHint(url: URL): string {
  const segments = url.pathname.split('/').filter((s) => s !== '')
  // A lone segment may be the secret itself (`https://relay.example/<token>`): never shown.
  const path = segments.length === 0 ? '' : segments.length === 1 ? '/…' : `/${segments[0]}/…`
  const more = segments.length === 0 && url.search ? '?…' : ''
  return `${url.protocol}//${url.host}${path}${more}`
}

function validType(type: string): DestinationType {
  const t = type.trim().toLowerCase()
  if (!(TYPES as readonly string[]).includes(t)) {
    throw new InvalidInput(`type: must be webhook or slack, got ${JSON.stringify(type)}`)
  }
  return t as DestinationType
}

function validName(name: string | undefined, url: URL): string {
  const clean = (name ?? '').trim()
  if (clean.length > MAX_NAME) throw new InvalidInput(`name: at most ${MAX_NAME} characters`)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters
  if (/[\u0000-\u001f\u007f]/.test(clean)) throw new InvalidInput('name: no control characters')
  return clean === '' ? url.host : clean
}

/** A webhook's signing secret: `whsec_` and 32 base62 characters. */
function generateSigningSecret(): string {
  return `whsec_${randomBase62(32)}`
}

// --- The destinations of a store ---------------------------------------------------------------

/**
 * Adds a destination after checking its URL (form and address); a webhook gets a signing
 * secret, returned this once. With `by`, audited in the same transaction.
 */
export async function addDestination(
  data: Data,
  store: Store,
  input: { type: string; url: string; name?: string },
  clock: Clock,
  options: DeliveryOptions,
  by?: AuditActor,
): Promise<AddedDestination> {
  const type = validType(input.type)
  const url = parseUrl(input.url, options.allowPrivate)
  const name = validName(input.name, url)
  await checkAddress(url, options)
  const secret = type === 'webhook' ? generateSigningSecret() : null
  const hint = urlHint(url)
  return data.tx(async (q) => {
    const row = await insertDestination(q, {
      storeId: store.id,
      type,
      name,
      url: data.secrets.seal(url.toString()),
      urlHint: hint,
      secret: secret === null ? null : data.secrets.seal(secret),
      createdAt: nowMs(clock),
    })
    if (by) {
      const detail = `${name} (${type}, ${hint})`
      await recordAudit(q, { ...by, action: 'destination.added', detail }, clock)
    }
    return { destination: toDestination(row), secret }
  })
}

/**
 * With MIDA_SECRET_KEY set (at start-up): seals the destinations' URLs and secrets saved without
 * it, in every store, leaving no plaintext copy in the files (as for the settings' secrets).
 * Resolves to how many destinations were sealed.
 */
export async function sealPlaintextDestinations(
  data: Data,
  log?: (line: string) => void,
): Promise<number> {
  if (!data.secrets.sealing) return 0
  if ((await plaintextDestinations(data, SEALED_PREFIX)).length === 0) return 0
  try {
    const { result: sealed } = await replaceLeavingNoCopy(data, () =>
      data.tx(async (q) => {
        const rows = await plaintextDestinations(q, SEALED_PREFIX)
        const seal = (v: string) => (isSealed(v) ? v : data.secrets.seal(v))
        for (const r of rows) {
          await replaceDestinationSecrets(
            q,
            r.id,
            seal(r.url),
            r.secret === null ? null : seal(r.secret),
          )
        }
        return rows.length
      }),
    )
    log?.(
      `Sealed the URLs and secrets of ${sealed} destination(s), saved before MIDA_SECRET_KEY was set`,
    )
    return sealed
  } catch (err) {
    log?.(
      `Could not seal the destinations saved before MIDA_SECRET_KEY was set: ${(err as Error).message}; the next start tries again`,
    )
    return 0
  }
}

/** A store's destinations, oldest first. */
export async function listDestinations(data: Data, store: Store): Promise<Destination[]> {
  return (await destinationsOfStore(data, store.id)).map(toDestination)
}

/** A destination of the store by id (a number in text), or NotFound. */
async function findDestination(
  q: Queries,
  store: Store,
  id: string | number,
): Promise<DestinationRow> {
  const text = String(id).trim()
  const row = /^\d{1,15}$/.test(text) ? await destinationById(q, store.id, Number(text)) : null
  if (!row) throw new NotFound(`No destination ${JSON.stringify(text)} in this store`)
  return row
}

/** Removes a destination and its deliveries; audited with `by` in the same transaction. */
export async function removeDestination(
  data: Data,
  store: Store,
  id: string | number,
  clock: Clock,
  by?: AuditActor,
): Promise<Destination> {
  return data.tx(async (q) => {
    const row = await findDestination(q, store, id)
    await deleteDestination(q, store.id, row.id)
    if (by) {
      const detail = `${row.name} (${row.type}, ${row.url_hint})`
      await recordAudit(q, { ...by, action: 'destination.removed', detail }, clock)
    }
    return toDestination(row)
  })
}

// --- Deliveries --------------------------------------------------------------------------------

/** The event a delivery announces (`X-Mida-Event`). */
type DeliveryEvent = 'sync.succeeded' | 'sync.failed' | 'sync.test'

/** A delivery as the page and the CLI show it. */
export interface Delivery {
  id: number
  kind: OutboxRow['kind']
  periodLabel: string | null
  event: DeliveryEvent
  /** sent, queued, retrying or failed. */
  status: 'sent' | 'queued' | 'retrying' | 'failed'
  attempts: number
  lastError: string | null
  /** The destination's answer (`HTTP 200`) of the delivery. */
  response: string | null
  createdAt: number
  sentAt: number | null
  /** When a pending delivery is tried next. */
  nextAttemptAt: number | null
}

function eventOf(row: Pick<OutboxRow, 'kind' | 'outcome'>): DeliveryEvent {
  if (row.kind === 'test') return 'sync.test'
  return row.outcome === 'failed' ? 'sync.failed' : 'sync.succeeded'
}

function toDelivery(r: OutboxRow): Delivery {
  const pending = r.status === 'pending'
  return {
    id: r.id,
    kind: r.kind,
    periodLabel: r.period_label,
    event: eventOf(r),
    status: pending
      ? r.attempts > 0
        ? 'retrying'
        : 'queued'
      : r.status === 'sent'
        ? 'sent'
        : 'failed',
    attempts: r.attempts,
    lastError: r.last_error,
    response: r.smtp_response,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    nextAttemptAt: pending && r.kind !== 'test' ? r.next_attempt_at : null,
  }
}

/** A destination's most recent deliveries, newest first. */
export async function recentDeliveries(
  data: Data,
  store: Store,
  destinationId: number,
  limit = 5,
): Promise<Delivery[]> {
  return (await recentDeliveryRows(data, store.id, destinationId, limit)).map(toDelivery)
}

/** The body of a failed sync's delivery (documented in the README). */
function failureBody(sync: SyncOutcome): string {
  // What went wrong inside (a database's host name, a file path) stays in the email and the
  // sync log: a receiver outside gets the sync API's own words.
  return JSON.stringify({
    success: false,
    error: 'Sync failed',
    frequency: sync.frequency,
    period: periodJson(sync.period),
    synced_at: sync.syncedAt.toString({ smallestUnit: 'millisecond' }),
  })
}

/** Slack's text escapes (`&`, `<`, `>`), so a store name is never read as markup. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** `1 order`, `1,034 sessions`. */
function counted(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`
}

/** The Slack (and Discord `/slack`) message of a sync's outcome: the period and its figures. */
function slackMessage(storeName: string, currency: string, sync: SyncOutcome): string {
  const what = `${slackEscape(storeName)}: ${sync.frequency} sync of ${sync.period.label}`
  if (sync.outcome === 'failed') {
    return JSON.stringify({
      text: `❌ ${what} failed (the sync log on the settings page says why)`,
    })
  }
  const m = sync.metrics
  const figures = m
    ? `${counted(m.total_sessions, 'session')}, ${counted(m.successful_orders, 'order')}, ${formatMoney(m.total_revenue, currency)} revenue`
    : 'no figures'
  return JSON.stringify({ text: `✅ ${what}: ${figures}` })
}

/**
 * Queues one delivery per destination of the store for a finished sync of its last completed
 * period; call it inside the transaction that writes the sync record (with its `q`). At most one
 * per (destination, frequency, period, outcome). `body`: a success's body exactly as stored.
 */
export async function queueSyncDeliveries(
  q: Queries,
  store: Store,
  settings: StoreSettings,
  sync: SyncOutcome,
  clock: Clock,
  body?: string,
): Promise<number> {
  let queued = 0
  const event = eventOf({ kind: 'sync', outcome: sync.outcome })
  for (const d of await destinationsOfStore(q, store.id)) {
    const payload =
      d.type === 'slack'
        ? slackMessage(settings.store_name || store.slug, settings.currency, sync)
        : sync.outcome === 'success' && body !== undefined
          ? body
          : failureBody(sync)
    queued += await insertOutboxRow(q, {
      storeId: store.id,
      destinationId: d.id,
      kind: 'sync',
      dedupe: syncDedupe(d.id, sync.frequency, sync.period.start.epochMilliseconds, sync.outcome),
      frequency: sync.frequency,
      periodStart: sync.period.start.epochMilliseconds,
      outcome: sync.outcome,
      periodLabel: sync.period.label,
      recipient: d.url_hint,
      subject: `${event} ${sync.period.label}`,
      payload,
      status: 'pending',
      lastError: null,
      at: nowMs(clock),
    })
  }
  return queued
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the X-Mida-Signature header. */
function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${v1}`
}

/** A destination's URL and secret, opened. */
function openTarget(data: Data, row: DestinationRow): { url: URL; secret: string | null } {
  const url = requireSecret(data.secrets.reveal(row.url), 'The destination URL')
  const secret =
    row.secret === null
      ? null
      : requireSecret(data.secrets.reveal(row.secret), "The destination's signing secret")
  return { url: new URL(url), secret }
}

/**
 * POSTs one delivery to a destination: its address checked again first, redirects not followed,
 * DELIVERY_TIMEOUT_MS to answer. Resolves to `HTTP <status>` for a 2xx; throws, with a message
 * that names no URL or secret, for anything else.
 */
async function post(
  data: Data,
  row: DestinationRow,
  delivery: { id: number; event: DeliveryEvent; body: string; at: number },
  options: DeliveryOptions,
): Promise<string> {
  const { url, secret } = openTarget(data, row)
  // Checked at send too: a host's addresses may have changed since it was saved.
  parseUrl(url.toString(), options.allowPrivate)
  await checkAddress(url, options)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `mida-export/${VERSION} (destinations)`,
  }
  if (row.type === 'webhook') {
    headers['x-mida-event'] = delivery.event
    headers['x-mida-delivery'] = String(delivery.id)
    if (secret !== null) {
      headers['x-mida-signature'] = signatureHeader(
        secret,
        delivery.body,
        Math.floor(delivery.at / 1000),
      )
    }
  }
  const timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS
  let status: number
  try {
    status = await postOnce(url, headers, delivery.body, timeoutMs, checkedLookup(options))
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') {
      throw new Error(`No answer within ${timeoutMs / 1000} s`)
    }
    if (err instanceof RefusedAddress) throw new Error(err.message)
    // The error's code, not its message, which may quote the URL (a Slack URL is a secret).
    const code = (err as { code?: unknown }).code
    throw new Error(`Could not connect${typeof code === 'string' ? ` (${code})` : ''}`)
  }
  if (status >= 200 && status < 300) return `HTTP ${status}`
  if (status >= 300 && status < 400) throw new Error(`HTTP ${status}: a redirect, not followed`)
  throw new Error(`HTTP ${status}`)
}

/** The connection's own lookup refused an address (a private one, since the check before it). */
class RefusedAddress extends Error {
  readonly code = 'EMIDAREFUSED'
}

/**
 * The name lookup of the delivery's connection, unless private addresses are allowed: the host's
 * addresses are checked again here, and the connection goes to exactly the addresses checked. A
 * check before the request and a lookup of its own by the HTTP client would leave a gap between
 * them that a DNS server answering differently the second time (DNS rebinding) could use to aim
 * the request at a private address.
 */
function checkedLookup(options: DeliveryOptions): LookupFunction | undefined {
  if (options.allowPrivate) return undefined
  const resolve = options.resolve ?? systemResolve
  type Answer = (err: Error | null, address: unknown, family?: number) => void
  return ((host: string, lookupOptions: { all?: boolean }, callback: Answer) => {
    resolve(host).then(
      (addresses) => {
        const refused = addresses.map(addressRefusal).find((why) => why !== null)
        if (addresses.length === 0 || refused) {
          const what = refused ? `resolves to ${article(refused)} address` : 'does not resolve'
          callback(new RefusedAddress(`url: ${host} ${what}; destinations must be public`), null)
        } else if (lookupOptions.all) {
          callback(
            null,
            addresses.map((address) => ({ address, family: isIP(address) })),
          )
        } else {
          callback(null, addresses[0], isIP(addresses[0]!))
        }
      },
      (err: Error) => callback(err, null),
    )
  }) as unknown as LookupFunction
}

/**
 * One POST through node's HTTP client (its `lookup` hook is what lets the connection use the
 * checked addresses; redirects are never followed); resolves to the answer's status once its
 * head arrived within `timeoutMs`. The answer's body is not read.
 */
function postOnce(
  url: URL,
  headers: OutgoingHttpHeaders,
  body: string,
  timeoutMs: number,
  lookup: LookupFunction | undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        ...(lookup ? { lookup } : {}),
      },
      (res) => {
        clearTimeout(timer)
        resolve(res.statusCode ?? 0)
        res.destroy()
      },
    )
    const timer = setTimeout(() => {
      const timeout = new Error(`No answer within ${timeoutMs} ms`)
      timeout.name = 'TimeoutError'
      req.destroy(timeout)
    }, timeoutMs)
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.end(body)
  })
}

/** `a loopback`, `an unspecified`. */
function article(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`
}

/** Delivers a queued outbox row to its destination; resolves to the answer, throws on failure. */
export async function deliverOutboxRow(
  data: Data,
  due: DueRow,
  clock: Clock,
  options: DeliveryOptions,
): Promise<string> {
  const [row, body] = await Promise.all([outboxRow(data, due.id), outboxPayloadText(data, due.id)])
  if (!row || body === null || due.destination_id === null) {
    throw new Error(`Outbox row ${due.id} is not a delivery`)
  }
  const destination = await destinationById(data, due.store_id, due.destination_id)
  if (!destination) throw new Error('The destination was removed')
  return post(
    data,
    destination,
    { id: due.id, event: eventOf(row), body, at: nowMs(clock) },
    options,
  )
}

/** How a log line names a destination: its name and URL hint, never the URL. */
export async function describeDestination(
  data: Data,
  storeId: number,
  destinationId: number,
): Promise<string> {
  const row = await destinationById(data, storeId, destinationId)
  return row ? `"${row.name}" (${row.url_hint})` : `${destinationId} (removed)`
}

/** What "Send test" did. */
export interface TestDelivery {
  destination: Destination
  delivery: Delivery
}

/**
 * Delivers a test payload (event `sync.test`, signed as every delivery) to a destination now,
 * recorded as an outbox row of kind `test` with its final status; never retried.
 */
export async function testDestination(
  data: Data,
  store: Store,
  id: string | number,
  clock: Clock,
  options: DeliveryOptions,
): Promise<TestDelivery> {
  const row = await findDestination(data, store, id)
  const at = nowMs(clock)
  const storeName = (await readSettings(data, store)).store_name || store.slug
  const body =
    row.type === 'slack'
      ? JSON.stringify({
          text: `👋 Test message from mida-export for the store ${slackEscape(storeName)}: syncs will be posted here.`,
        })
      : JSON.stringify({
          success: true,
          event: 'sync.test',
          message: 'Test delivery from mida-export',
          store: store.slug,
          sent_at: new Date(at).toISOString(),
        })
  const deliveryId = await insertImmediateDelivery(data, {
    storeId: store.id,
    destinationId: row.id,
    kind: 'test',
    dedupe: `destination:${row.id}:test:${at}:${randomBase62(8)}`,
    frequency: null,
    periodStart: null,
    outcome: null,
    periodLabel: null,
    recipient: row.url_hint,
    subject: 'sync.test',
    payload: body,
    status: 'pending',
    lastError: null,
    at,
  })
  let result: { status: 'sent' | 'failed'; answer: string }
  try {
    const answer = await post(data, row, { id: deliveryId, event: 'sync.test', body, at }, options)
    result = { status: 'sent', answer }
  } catch (err) {
    result = { status: 'failed', answer: (err as Error).message }
  }
  await finishImmediateDelivery(data, deliveryId, { ...result, at: nowMs(clock) })
  const recorded = await outboxRow(data, deliveryId)
  if (!recorded) throw new NotFound('The destination was removed meanwhile')
  return { destination: toDestination(row), delivery: toDelivery(recorded) }
}
