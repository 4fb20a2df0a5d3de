import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { Data } from '../../src/db/data.ts'
import { OpenSessions } from '../../src/db/sqlite/trackerBatch.ts'
import { type FixedClock, nowMs } from '../../src/domain/clock.ts'
import {
  CollectQueue,
  countToday,
  deviceFromUserAgent,
  isBot,
  recordEvents,
  type TrackerEvent,
  trafficSource,
} from '../../src/domain/collect.ts'
import { writeOrders, writeSessions } from '../../src/domain/ingest/writers.ts'
import { ensureDefaultStore, type Store } from '../../src/domain/stores.ts'
import { openTestStore, type TestStore } from '../utils.ts'

const UA = {
  desktop:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  androidPhone:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  androidTablet:
    'Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  googlebot:
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.0.0 Safari/537.36',
}

describe('isBot', () => {
  test.each([
    UA.googlebot,
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
    'curl/8.5.0',
    'python-requests/2.31.0',
    'Baiduspider+(+http://www.baidu.com/search/spider.htm)',
    '',
  ])('%p is a bot', (ua) => {
    expect(isBot(ua)).toBe(true)
  })
  test.each([UA.desktop, UA.iphone, UA.androidPhone, UA.ipad])('%p is a person', (ua) => {
    expect(isBot(ua)).toBe(false)
  })
  // From isbot's maintained list: none of these was in our own pattern.
  test.each([
    'Mozilla/5.0 (compatible; Qwantify/2.4w; +https://www.qwant.com/)/2.4w',
    'Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)',
    'Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)',
    'Mozilla/5.0 (compatible; Google-Site-Verification/1.0)',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 PTST/240201.144029',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Cypress/13.6.0',
  ])('%p is a bot (isbot)', (ua) => {
    expect(isBot(ua)).toBe(true)
  })
  // Our additions: isbot lets these through inside a browser's user agent.
  test.each([
    'slurp',
    'Scraper',
    'Puppeteer',
    'Chrome-Lighthouse',
    'GTmetrix',
    'UptimeRobot',
    'facebookexternalhit/1.1',
    'facebookcatalog/1.0',
    'Embedly',
    'WhatsApp/2.23',
    'vkShare',
    'Wget/1.21',
    'python-httpx/0.27',
    'axios/1.7.2',
    'libwww-perl/6.72',
    'Mediapartners-Google',
    'Shopify-Captain-Hook',
  ])('a browser user agent ending in %p is a bot (our additions)', (tool) => {
    expect(isBot(`${UA.desktop} ${tool}`)).toBe(true)
  })
  test('short user agents are bots; a phone named CUBOT is a person', () => {
    expect([isBot('Mozilla'), isBot('   abc   '), isBot('Mozilla/5.0')]).toEqual([true, true, true])
    expect(
      isBot(
        'Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
      ),
    ).toBe(false)
  })
})

describe('deviceFromUserAgent', () => {
  test('phones, tablets and the rest', () => {
    expect(deviceFromUserAgent(UA.desktop)).toBe('desktop')
    expect(deviceFromUserAgent(UA.iphone)).toBe('mobile')
    expect(deviceFromUserAgent(UA.androidPhone)).toBe('mobile')
    expect(deviceFromUserAgent(UA.ipad)).toBe('tablet')
    expect(deviceFromUserAgent(UA.androidTablet)).toBe('tablet')
  })
})

describe('trafficSource', () => {
  const page = 'https://shop.example/products/tee'
  test('paid: a paid utm_medium or an ad click id, whatever the referrer', () => {
    expect(
      trafficSource(`${page}?utm_source=google&utm_medium=cpc`, 'https://www.google.com/'),
    ).toBe('paid')
    expect(trafficSource(`${page}?utm_medium=PPC`, '')).toBe('paid')
    expect(trafficSource(`${page}?utm_medium=paid`, '')).toBe('paid')
    expect(trafficSource(`${page}?gclid=abc`, 'https://www.google.com/')).toBe('paid')
    expect(trafficSource(`${page}?fbclid=x`, 'https://l.facebook.com/')).toBe('paid')
    expect(trafficSource(`${page}?msclkid=x`, '')).toBe('paid')
    expect(trafficSource(`${page}?ttclid=x`, '')).toBe('paid')
  })
  test('organic: a search engine referrer', () => {
    for (const ref of [
      'https://www.google.com/',
      'https://www.google.co.uk/',
      'https://www.bing.com/search?q=tee',
      'https://duckduckgo.com/',
      'https://search.yahoo.com/',
      'https://yandex.ru/',
      'https://www.baidu.com/',
      'https://www.ecosia.org/',
    ]) {
      expect(trafficSource(page, ref)).toBe('organic')
    }
  })
  test('referral: another site, or a tagged campaign link without a referrer', () => {
    expect(trafficSource(page, 'https://blog.example/best-tees')).toBe('referral')
    expect(trafficSource(page, 'https://l.facebook.com/')).toBe('referral')
    expect(trafficSource(`${page}?utm_source=newsletter&utm_medium=email`, '')).toBe('referral')
  })
  test('direct: no referrer, or the shop itself', () => {
    expect(trafficSource(page, '')).toBe('direct')
    expect(trafficSource(page, 'https://shop.example/')).toBe('direct')
    expect(trafficSource(page, 'https://www.shop.example/collections/all')).toBe('direct')
    expect(trafficSource(page, 'https://myshop.myshopify.com/', ['myshop.myshopify.com'])).toBe(
      'direct',
    )
    expect(trafficSource('not a url', 'also not')).toBe('direct')
  })
})

describe('recordEvents', () => {
  let t: TestStore
  let data: Data
  /** The tracker's open sessions, as the core holds them across batches. */
  let open: OpenSessions
  let clock: FixedClock
  let store: Store
  let storeId: number
  beforeEach(async () => {
    t = await openTestStore('2026-11-25T15:00:00Z')
    ;({ data, clock } = t)
    open = new OpenSessions()
    store = await ensureDefaultStore(data, clock)
    storeId = store.id
  })
  afterEach(() => t.close())

  const event = (
    name: TrackerEvent['name'],
    url: string,
    at: string,
    extra: Partial<TrackerEvent> = {},
  ): TrackerEvent => ({
    storeId,
    visitorId: 'visitor-1',
    name,
    url,
    referrer: '',
    userAgent: UA.iphone,
    at: Temporal.Instant.from(at).epochMilliseconds,
    ...extra,
  })
  const sessions = () =>
    data.all(
      `SELECT visitor_id, started_at, ended_at, pageviews, device, source, landing_page,
         viewed_product, added_to_cart, reached_checkout FROM sessions ORDER BY started_at`,
    )
  const ms = (at: string) => Temporal.Instant.from(at).epochMilliseconds

  test('a visit: pageviews, product view, add to cart, checkout; device and source from the first event', async () => {
    const result = await recordEvents(
      data,
      open,
      [
        event(
          'pageview',
          'https://shop.example/?utm_source=google&utm_medium=cpc',
          '2026-11-25T10:00:00Z',
          {
            referrer: 'https://www.google.com/',
          },
        ),
        event('pageview', 'https://shop.example/products/tee?variant=1', '2026-11-25T10:02:00Z', {
          referrer: 'https://shop.example/',
        }),
        event('add_to_cart', 'https://shop.example/products/tee', '2026-11-25T10:03:00Z'),
        event('pageview', 'https://shop.example/checkouts/cn/abc', '2026-11-25T10:05:30Z'),
      ],
      clock,
    )
    expect(result).toEqual({ inserted: 1, updated: 0 })
    expect(await sessions()).toEqual([
      {
        visitor_id: 'visitor-1',
        started_at: ms('2026-11-25T10:00:00Z'),
        ended_at: ms('2026-11-25T10:05:30Z'),
        pageviews: 3,
        device: 'mobile',
        source: 'paid',
        landing_page: '/',
        viewed_product: 1,
        added_to_cart: 1,
        reached_checkout: 1,
      },
    ])
  })

  test('30 minutes idle or more starts a new session; 29:59 does not', async () => {
    await recordEvents(
      data,
      open,
      [event('pageview', 'https://shop.example/', '2026-11-25T10:00:00Z')],
      clock,
    )
    await recordEvents(
      data,
      open,
      [event('pageview', 'https://shop.example/a', '2026-11-25T10:29:59Z')],
      clock,
    )
    const second = await recordEvents(
      data,
      open,
      [event('pageview', 'https://shop.example/b', '2026-11-25T10:59:59Z')],
      clock,
    )
    expect(second).toEqual({ inserted: 1, updated: 0 })
    expect(await sessions()).toMatchObject([
      {
        started_at: ms('2026-11-25T10:00:00Z'),
        ended_at: ms('2026-11-25T10:29:59Z'),
        pageviews: 2,
      },
      {
        started_at: ms('2026-11-25T10:59:59Z'),
        ended_at: ms('2026-11-25T10:59:59Z'),
        pageviews: 1,
        landing_page: '/b',
      },
    ])
  })

  test('the next event extends the session as stored, also when an import changed it meanwhile', async () => {
    await recordEvents(
      data,
      open,
      [event('pageview', 'https://shop.example/', '2026-11-25T10:00:00Z')],
      clock,
    )
    const id = ((await data.get('SELECT id FROM sessions')) as { id: string }).id
    // Another path rewrites the visitor's open session (an import correcting it).
    await writeSessions(
      data,
      store,
      [
        {
          id,
          visitor_id: 'visitor-1',
          started_at: ms('2026-11-25T10:00:00Z'),
          ended_at: ms('2026-11-25T10:05:00Z'),
          pageviews: 7,
          device: 'desktop',
          source: 'paid',
          landing_page: '/sale',
          viewed_product: true,
          added_to_cart: false,
          reached_checkout: false,
        },
      ],
      clock,
    )
    await recordEvents(
      data,
      open,
      [event('pageview', 'https://shop.example/a', '2026-11-25T10:06:00Z')],
      clock,
    )
    expect(await sessions()).toEqual([
      {
        visitor_id: 'visitor-1',
        started_at: ms('2026-11-25T10:00:00Z'),
        ended_at: ms('2026-11-25T10:06:00Z'),
        pageviews: 8,
        device: 'desktop',
        source: 'paid',
        landing_page: '/sale',
        viewed_product: 1,
        added_to_cart: 0,
        reached_checkout: 0,
      },
    ])
  })

  test('visitors are kept apart, and an event-only session has no pageview', async () => {
    await recordEvents(
      data,
      open,
      [
        event('pageview', 'https://shop.example/', '2026-11-25T10:00:00Z'),
        event('checkout', 'https://shop.example/cart', '2026-11-25T10:01:00Z', {
          visitorId: 'visitor-2',
          userAgent: UA.desktop,
          referrer: 'https://blog.example/',
        }),
      ],
      clock,
    )
    expect(await sessions()).toMatchObject([
      { visitor_id: 'visitor-1', pageviews: 1, device: 'mobile', source: 'direct' },
      {
        visitor_id: 'visitor-2',
        pageviews: 0,
        device: 'desktop',
        source: 'referral',
        landing_page: '/cart',
        reached_checkout: 1,
      },
    ])
  })

  test('a product page under a collection counts; a page merely named like checkout does not', async () => {
    await recordEvents(
      data,
      open,
      [
        event(
          'pageview',
          'https://shop.example/collections/all/products/tee',
          '2026-11-25T10:00:00Z',
        ),
        event('pageview', 'https://shop.example/pages/checkout-help', '2026-11-25T10:01:00Z'),
      ],
      clock,
    )
    expect(await sessions()).toMatchObject([
      { viewed_product: 1, reached_checkout: 0, pageviews: 2 },
    ])
  })
})

describe('CollectQueue', () => {
  test('a burst of events is one transaction, and each add resolves once it is written', async () => {
    const t = await openTestStore('2026-11-25T15:00:00Z')
    const { data, clock, storeId } = t
    const queue = new CollectQueue(data, new OpenSessions(), clock, {
      delayMs: 5,
      maxBatch: 500,
    })
    const revision = async () =>
      ((await data.get('SELECT data_revision FROM stores')) as { data_revision: number })
        .data_revision
    const before = await revision()
    const adds = Array.from({ length: 50 }, (_, i) =>
      queue.add({
        storeId,
        visitorId: `visitor-${i % 10}`,
        name: 'pageview',
        url: `https://shop.example/p/${i}`,
        referrer: '',
        userAgent: UA.desktop,
      }),
    )
    expect(queue.size).toBe(50)
    // Asked before the batch is due (5 ms on), so before it is written.
    expect(await data.get('SELECT count(*) AS n FROM sessions')).toEqual({ n: 0 })
    await Promise.all(adds)
    // writeSessions bumps the revision once per transaction
    expect(await revision()).toBe(before + 1)
    expect(await data.get('SELECT count(*) AS n, sum(pageviews) AS pv FROM sessions')).toEqual({
      n: 10,
      pv: 50,
    })
    expect(((await data.get('SELECT min(started_at) AS t FROM sessions')) as { t: number }).t).toBe(
      nowMs(clock),
    )
    t.close()
  })

  test('by default a batch is written at the end of the turn its events arrived in, not later', async () => {
    const t = await openTestStore('2026-11-25T15:00:00Z')
    const { data, clock, storeId } = t
    const queue = new CollectQueue(data, new OpenSessions(), clock)
    const count = async () =>
      ((await data.get('SELECT count(*) AS n FROM sessions')) as { n: number }).n
    const add = (visitorId: string) =>
      queue.add({
        storeId,
        visitorId,
        name: 'pageview',
        url: 'https://shop.example/',
        referrer: '',
        userAgent: UA.desktop,
      })
    const first = [add('visitor-a'), add('visitor-b')]
    expect(queue.size).toBe(2)
    expect(await count()).toBe(0)
    // The queue's check callback was scheduled before this one: it has run when this one does,
    // and taken the batch (written at once on SQLite, in round trips on PostgreSQL).
    await new Promise((resolve) => setImmediate(resolve))
    expect(queue.size).toBe(0)
    await Promise.all(first)
    expect(await count()).toBe(2)
    // An event of a later turn is its own batch.
    const later = add('visitor-c')
    expect(queue.size).toBe(1)
    await later
    expect(await count()).toBe(3)
    t.close()
  })

  test('a failed write rejects every event of the batch', async () => {
    const t = await openTestStore('2026-11-25T15:00:00Z')
    const queue = new CollectQueue(t.data, new OpenSessions(), t.clock)
    await t.data.close()
    const add = queue.add({
      storeId: 1,
      visitorId: 'visitor-1',
      name: 'pageview',
      url: 'https://shop.example/',
      referrer: '',
      userAgent: UA.desktop,
    })
    await expect(add).rejects.toThrow()
    t.close()
  })
})

describe("today's tracking counts", () => {
  test('count the sessions started and the successful orders created since the store day began', async () => {
    const t = await openTestStore('2026-11-26T15:00:00Z')
    try {
      // New York's 26 November began at 05:00 UTC.
      const order = (id: string, created: string, extra: object = {}) => ({
        id,
        name: null,
        created_at: Date.parse(created),
        total_price: 1000,
        currency: null,
        financial_status: 'paid',
        cancelled_at: null,
        test: false,
        session_id: null,
        ...extra,
      })
      await writeOrders(
        t.data,
        t.store,
        [
          order('paid', '2026-11-26T06:00:00Z'),
          order('yesterday', '2026-11-26T04:59:59Z'),
          order('voided', '2026-11-26T07:00:00Z', { financial_status: 'voided' }),
          order('test', '2026-11-26T07:00:00Z', { test: true }),
          order('cancelled', '2026-11-26T07:00:00Z', {
            cancelled_at: Date.parse('2026-11-26T08:00:00Z'),
          }),
          order('pending', '2026-11-26T14:00:00Z', { financial_status: 'pending' }),
        ],
        t.clock,
      )
      expect(await countToday(t.data, t.store, 'America/New_York', t.clock.now())).toEqual({
        sessions: 0,
        orders: 2,
      })
    } finally {
      t.close()
    }
  })
})
