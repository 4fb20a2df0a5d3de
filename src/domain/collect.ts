import { isbot } from 'isbot'
import type { Data } from '../db/data.ts'
import { ingestEngine, type StoredSpan } from '../db/ingest.ts'
import { orderTotals } from '../db/metrics.ts'
import { sessionsStartedBetween } from '../db/sessions.ts'
import type { OpenSessions } from '../db/sqlite/trackerBatch.ts'
import { randomBase62 } from '../lib/random.ts'
import { type Clock, nowMs } from './clock.ts'
import { landingPath, type SessionRecord } from './records.ts'
import type { Store } from './stores.ts'

/** What the storefront tracker reports. */
type TrackerEventName = 'pageview' | 'add_to_cart' | 'checkout'

/** One tracker event, as the collect endpoint accepted it. The client's address is never kept. */
export interface TrackerEvent {
  storeId: number
  visitorId: string
  name: TrackerEventName
  /** The page's full URL (its query holds the UTM tags and click ids). */
  url: string
  /** The page's referrer; for SPA navigations, the previous page. */
  referrer: string
  userAgent: string
  /** Hosts that are the shop itself (besides the page's own), e.g. from `allowed_origins`. */
  ownHosts?: readonly string[]
  /** Epoch ms, from the server's clock when the event arrived. */
  at: number
}

/** A visitor's events this far apart or more start a new session. */
const SESSION_IDLE_MS = 30 * 60 * 1000

/**
 * Our additions to isbot's list: tools and link previews it lets through once they sit inside a
 * browser-like user agent (site checkers, scripted clients, shops' own fetchers).
 */
const MORE_BOTS =
  /slurp|scrap|puppeteer|lighthouse|gtmetrix|uptime|facebookexternalhit|facebookcatalog|embedly|whatsapp|vkshare|wget|python|axios|libwww|mediapartners|shopify-/i

/**
 * True for crawlers, monitors, link previews and scripted clients (and an empty user agent):
 * isbot's maintained list, plus ours.
 */
export function isBot(userAgent: string): boolean {
  const ua = userAgent.trim()
  return ua.length < 10 || isbot(ua) || MORE_BOTS.test(ua)
}

/** `tablet`, `mobile` or `desktop`, from the user agent. */
export function deviceFromUserAgent(userAgent: string): SessionRecord['device'] {
  if (/iPad|Tablet|PlayBook|Silk|Kindle|Nexus (7|9|10)|SM-T\d|Android(?!.*Mobile)/i.test(userAgent))
    return 'tablet'
  if (/Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|BB10|Opera Mini|IEMobile/i.test(userAgent))
    return 'mobile'
  return 'desktop'
}

const PAID_MEDIUMS = new Set([
  'cpc',
  'ppc',
  'paid',
  'paidsearch',
  'paid_search',
  'paid-search',
  'paidsocial',
  'paid_social',
  'paid-social',
  'cpm',
  'cpv',
  'display',
])
const CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'dclid', 'fbclid', 'msclkid', 'ttclid', 'twclid']
const SEARCH_ENGINE =
  /(^|\.)(google|bing|duckduckgo|yahoo|yandex|baidu|ecosia|qwant|startpage|naver|seznam|sogou|ask|aol|brave|so|sm|daum|mojeek|kagi)(\.[a-z]{2,3}){1,2}$/i

function parseUrl(text: string): URL | null {
  try {
    return new URL(text)
  } catch {
    return null
  }
}

const bareHost = (host: string) => host.toLowerCase().replace(/^www\./, '')

/**
 * Where a session came from: `paid` for a paid UTM medium or an ad click id, `organic` from a
 * search engine, `referral` from another site (or a tagged campaign link), `direct` otherwise.
 * A referrer on the shop's own host is an internal navigation, not a source.
 */
export function trafficSource(
  pageUrl: string,
  referrer: string,
  ownHosts: readonly string[] = [],
): SessionRecord['source'] {
  const page = parseUrl(pageUrl)
  const query = page?.searchParams
  const medium = query?.get('utm_medium')?.trim().toLowerCase() ?? ''
  if (PAID_MEDIUMS.has(medium) || CLICK_IDS.some((id) => query?.has(id))) return 'paid'
  const ref = parseUrl(referrer)
  const refHost = ref && /^https?:$/.test(ref.protocol) ? bareHost(ref.hostname) : ''
  const own = new Set([page ? bareHost(page.hostname) : '', ...ownHosts.map(bareHost)])
  if (refHost && !own.has(refHost)) return SEARCH_ENGINE.test(refHost) ? 'organic' : 'referral'
  if (medium === 'organic') return 'organic'
  if (medium || query?.has('utm_source')) return 'referral'
  return 'direct'
}

const PRODUCT_PATH = /\/products\/[^/]/
const CHECKOUT_PATH = /^(\/[a-z]{2}(-[a-z]{2})?)?\/(checkout(\/|$)|checkouts\/)/i

function pathOf(url: string): string {
  return landingPath(url)
}

/** A new, unguessable session id. */
function newSessionId(at: number): string {
  // Time first (11 base36 digits sort in time order until the year 5188): new sessions append
  // to the primary-key index instead of landing on a random page of it.
  return `s_${at.toString(36).padStart(11, '0')}${randomBase62(12)}`
}

/**
 * Applies tracker events to sessions, in arrival order, in one transaction: an event joins the
 * visitor's latest session unless that one has been idle for 30 minutes or more, in which case
 * it starts a new one (device, source and landing page come from its first event). Bot events
 * must have been dropped before. Returns how many sessions were created and changed. The
 * engine's tracker batch (src/db/ingest.ts) runs this synchronously, holding the write lock.
 */
export function recordEvents(
  data: Data,
  openSessions: OpenSessions,
  events: readonly TrackerEvent[],
  clock: Clock,
): Promise<{ inserted: number; updated: number }> {
  const byStore = new Map<number, TrackerEvent[]>()
  for (const e of events) {
    const list = byStore.get(e.storeId)
    if (list) list.push(e)
    else byStore.set(e.storeId, [e])
  }
  const visitors: [number, string][] = []
  for (const [storeId, list] of byStore) {
    for (const visitorId of new Set(list.map((e) => e.visitorId)))
      visitors.push([storeId, visitorId])
  }
  return ingestEngine(data).trackerBatch(openSessions, nowMs(clock), visitors, (batch) => {
    let inserted = 0
    let updated = 0
    for (const [storeId, storeEvents] of byStore) {
      const open = new Map<string, SessionRecord | null>()
      const touched = new Map<string, SessionRecord>()
      // Sessions found stored (remembered or read): updated directly, with their stored span.
      const stored = new Map<string, StoredSpan>()
      for (const e of storeEvents) {
        if (!open.has(e.visitorId)) {
          const found = batch.latest(storeId, e.visitorId)
          if (found) {
            const { started_at, ended_at, visitor_id } = found
            stored.set(found.id, { started_at, ended_at, visitor_id })
          }
          open.set(e.visitorId, found)
        }
        let s = open.get(e.visitorId) ?? null
        if (!s || e.at - s.ended_at >= SESSION_IDLE_MS) {
          s = {
            id: newSessionId(e.at),
            visitor_id: e.visitorId,
            started_at: e.at,
            ended_at: e.at,
            pageviews: 0,
            device: deviceFromUserAgent(e.userAgent),
            source: trafficSource(e.url, e.referrer, e.ownHosts),
            landing_page: pathOf(e.url),
            viewed_product: false,
            added_to_cart: false,
            reached_checkout: false,
          }
          open.set(e.visitorId, s)
        }
        s.ended_at = Math.max(s.ended_at, e.at)
        const path = pathOf(e.url)
        if (e.name === 'pageview') {
          s.pageviews++
          if (PRODUCT_PATH.test(path)) s.viewed_product = true
          if (CHECKOUT_PATH.test(path)) s.reached_checkout = true
        } else if (e.name === 'add_to_cart') s.added_to_cart = true
        else if (e.name === 'checkout') s.reached_checkout = true
        touched.set(s.id, s)
      }
      const written = batch.write(storeId, [...touched.values()], stored)
      inserted += written.inserted
      updated += written.updated
      for (const [visitorId, s] of open) if (s) batch.remember(storeId, visitorId, s)
    }
    return { inserted, updated }
  })
}

interface Pending {
  event: TrackerEvent
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Batches tracker events: each is stamped on arrival and written with the others that arrive
 * meanwhile, in one transaction; `add` resolves once its event is committed.
 *
 * By default a batch is written at the end of the event loop's turn (`delayMs` 0): every event
 * whose request was read in that turn, and under load the ones that arrived while the last
 * batch was written. A timer, even of 1 ms, would hold each request that long: with 50
 * connections that caps a bare server at ~32 000 events/s (bench/RESULTS.md).
 */
export class CollectQueue {
  private pending: Pending[] = []
  private cancel: (() => void) | null = null

  constructor(
    private readonly data: Data,
    private readonly openSessions: OpenSessions,
    private readonly clock: Clock,
    private readonly options: { delayMs: number; maxBatch: number } = { delayMs: 0, maxBatch: 500 },
  ) {}

  /** Queues an event (stamped now) and resolves when it is durable; rejects if the write fails. */
  add(event: Omit<TrackerEvent, 'at'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event: { ...event, at: nowMs(this.clock) }, resolve, reject })
      if (this.pending.length >= this.options.maxBatch) void this.flush()
      else this.cancel ??= this.schedule()
    })
  }

  /** Arranges the next flush; returns how to call it off. */
  private schedule(): () => void {
    if (this.options.delayMs <= 0) {
      const immediate = setImmediate(() => void this.flush())
      return () => clearImmediate(immediate)
    }
    const timer = setTimeout(() => void this.flush(), this.options.delayMs)
    return () => clearTimeout(timer)
  }

  /**
   * Writes everything queued now, in one transaction; resolves once it is written (each event's
   * `add` settles with it). Never rejects: a failed write rejects the events' `add`s.
   */
  flush(): Promise<void> {
    this.cancel?.()
    this.cancel = null
    // One batch at a time: the events that arrive while one is written go together in the next
    // (on PostgreSQL a write takes round trips; batches written side by side would each wait for
    // the store's row lock and commit one event or two apiece).
    this.writing = this.writing.then(() => this.write())
    return this.writing
  }

  /** The batch being written (or the last one), which the next one waits for. */
  private writing: Promise<void> = Promise.resolve()

  /** Writes everything queued by now. Never rejects. */
  private async write(): Promise<void> {
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    try {
      await recordEvents(
        this.data,
        this.openSessions,
        batch.map((p) => p.event),
        this.clock,
      )
    } catch (err) {
      for (const p of batch) p.reject(err)
      return
    }
    for (const p of batch) p.resolve()
  }

  /** Events waiting for the next flush. */
  get size(): number {
    return this.pending.length
  }
}

/** Today's sessions and successful orders, "today" being the store's calendar day so far. */
export async function countToday(
  data: Data,
  store: Store,
  timeZone: string,
  now: Temporal.Instant,
): Promise<{ sessions: number; orders: number }> {
  const start = now.toZonedDateTimeISO(timeZone).startOfDay().epochMilliseconds
  const end = now.epochMilliseconds + 1
  return {
    sessions: await sessionsStartedBetween(data, store.id, start, end),
    orders: (await orderTotals(data, { storeId: store.id, from: start, to: end })).orders,
  }
}
