import { afterEach, describe, expect, test } from 'bun:test'
import { FixedClock } from '../../src/domain/clock.ts'
import {
  cachedSettings,
  DEFAULT_SETTINGS,
  notificationRecipient,
  readSettings,
  SettingsError,
  updateSettings,
} from '../../src/domain/settings.ts'
import { displaySettings, settingsEdits } from '../../src/domain/settingsForm.ts'
import { ensureDefaultStore } from '../../src/domain/stores.ts'
import { openTestStore } from '../utils.ts'

const clock = new FixedClock('2026-11-26T06:00:00Z')
let cleanup = () => {}

async function freshStore() {
  const t = await openTestStore(clock.now().toString())
  cleanup = () => t.close()
  const store = await ensureDefaultStore(t.data, clock)
  return { data: t.data, store }
}

afterEach(() => cleanup())

async function errorsOf(fn: () => Promise<unknown>): Promise<Record<string, string>> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof SettingsError) return err.fields
    throw err
  }
  throw new Error('expected a SettingsError')
}

describe('store settings', () => {
  test('a new store reads the documented defaults', async () => {
    const { data, store } = await freshStore()
    expect(await readSettings(data, store)).toEqual(DEFAULT_SETTINGS)
    expect(DEFAULT_SETTINGS).toMatchObject({
      week_start: 'monday',
      api_enabled: false,
      sync_frequency: 'daily',
      sync_hour: 1,
      notify_success: false,
      notify_failure: true,
      notify_attach_csv: false,
    })
  })

  test('values are normalised: booleans from text, upper-case currency, origins without slash', async () => {
    const { data, store } = await freshStore()
    const s = await updateSettings(
      data,
      store,
      {
        api_enabled: 'on',
        notify_success: 'true',
        notify_failure: 'false',
        currency: 'eur',
        sync_hour: '23',
        allowed_origins: 'https://shop.example/, https://www.shop.example',
        timezone: 'Europe/Berlin',
      },
      clock,
    )
    expect(s.api_enabled).toBe(true)
    expect(s.notify_success).toBe(true)
    expect(s.notify_failure).toBe(false)
    expect(s.currency).toBe('EUR')
    expect(s.sync_hour).toBe(23)
    expect(s.allowed_origins).toBe('https://shop.example,https://www.shop.example')
    expect(await readSettings(data, store)).toEqual(s)
  })

  test('every bad value is named with what is allowed, and nothing is saved', async () => {
    const { data, store } = await freshStore()
    const fields = await errorsOf(() =>
      updateSettings(
        data,
        store,
        {
          store_name: '',
          store_email: 'not-an-email',
          timezone: 'Mars/Olympus',
          currency: 'XYZ',
          week_start: 'friday',
          api_enabled: 'maybe',
          sync_frequency: 'hourly',
          sync_hour: '24',
          smtp_port: '99999',
          smtp_security: 'ssl',
          allowed_origins: 'shop.example',
          tracking_id: 'MIDA-x',
          colour: 'blue',
          notify_recipient: 'x@',
        },
        clock,
      ),
    )
    expect(fields).toEqual({
      store_name: 'must not be empty',
      store_email: 'must be an email address',
      timezone: 'must be an IANA time zone such as America/New_York',
      currency: 'must be an ISO 4217 code such as USD',
      week_start: 'must be monday or sunday',
      api_enabled: 'must be true or false',
      sync_frequency: 'must be daily or weekly',
      sync_hour: 'must be an hour from 0 to 23',
      smtp_port: 'must be a port from 1 to 65535',
      smtp_security: 'must be starttls, tls or none',
      allowed_origins: '"shop.example" is not an origin like https://shop.example',
      tracking_id: 'is read-only',
      colour: expect.stringMatching(/^is not a setting \(known: store_name, /),
      notify_recipient: 'must be an email address',
    })
    expect(await readSettings(data, store)).toEqual(DEFAULT_SETTINGS)
  })

  test('names of Object.prototype members are unknown settings, not a crash', async () => {
    const { data, store } = await freshStore()
    expect(
      await errorsOf(() =>
        updateSettings(
          data,
          store,
          { constructor: 'x', toString: 'y', hasOwnProperty: 'z' },
          clock,
        ),
      ),
    ).toEqual({
      constructor: expect.stringMatching(/^is not a setting \(known: store_name, /),
      toString: expect.stringMatching(/^is not a setting \(known: store_name, /),
      hasOwnProperty: expect.stringMatching(/^is not a setting \(known: store_name, /),
    })
    expect(await readSettings(data, store)).toEqual(DEFAULT_SETTINGS)
  })

  test('one bad value keeps the good ones in the same call from being saved', async () => {
    const { data, store } = await freshStore()
    await errorsOf(() =>
      updateSettings(data, store, { store_name: 'Shop', sync_hour: '-1' }, clock),
    )
    expect((await readSettings(data, store)).store_name).toBe(DEFAULT_SETTINGS.store_name)
  })

  test('smtp_port accepts a port or empty, and nothing else', async () => {
    const { data, store } = await freshStore()
    for (const bad of ['0', '-1', '65536', 'abc', '1.5']) {
      expect(await errorsOf(() => updateSettings(data, store, { smtp_port: bad }, clock))).toEqual({
        smtp_port: 'must be a port from 1 to 65535',
      })
    }
    expect((await updateSettings(data, store, { smtp_port: '587' }, clock)).smtp_port).toBe(587)
    expect((await updateSettings(data, store, { smtp_port: '' }, clock)).smtp_port).toBe('')
  })

  test('the recipient defaults to the store email', async () => {
    const { data, store } = await freshStore()
    let s = await updateSettings(data, store, { store_email: 'owner@shop.example' }, clock)
    expect(notificationRecipient(s)).toBe('owner@shop.example')
    s = await updateSettings(data, store, { notify_recipient: 'ops@shop.example' }, clock)
    expect(notificationRecipient(s)).toBe('ops@shop.example')
  })

  test('secrets are shown only as set or unset', async () => {
    const { data, store } = await freshStore()
    const s = await updateSettings(
      data,
      store,
      { smtp_password: 'hunter2-secret', shopify_webhook_secret: 'whsec' },
      clock,
    )
    const shown = displaySettings(s, store.trackingId)
    expect(shown.smtp_password).toBe('(set)')
    expect(shown.shopify_webhook_secret).toBe('(set)')
    expect(shown.tracking_id).toBe(store.trackingId)
    expect(JSON.stringify(shown)).not.toContain('hunter2')
  })
})

describe('saving through the data layer', () => {
  test('the audit hook runs inside the save: it sees both sides, and its failure saves nothing', async () => {
    const { data, store } = await freshStore()
    const seen: unknown[] = []
    await updateSettings(
      data,
      store,
      { store_name: 'Shop' },
      clock,
      async (q, { before, after }) => {
        const row = await q.get<{ value: string }>(
          "SELECT value FROM store_settings WHERE store_id = ? AND key = 'store_name'",
          store.id,
        )
        seen.push([before.store_name, after.store_name, row?.value])
      },
    )
    expect(seen).toEqual([['My Store', 'Shop', 'Shop']])

    const failing = updateSettings(data, store, { store_name: 'Other' }, clock, async () => {
      throw new Error('audit log unavailable')
    })
    await expect(failing).rejects.toThrow('audit log unavailable')
    expect((await readSettings(data, store)).store_name).toBe('Shop')
  })

  test('a read is cached for the hot paths until a save drops it', async () => {
    const { data, store } = await freshStore()
    expect(cachedSettings(data, store)).toBeUndefined()
    const read = await readSettings(data, store)
    // The second read is the cache's: the same object. It also checks the cache for this turn
    // of the event loop, which the synchronous peek needs (PostgreSQL's check is a round trip).
    expect(await readSettings(data, store)).toBe(read)
    expect(cachedSettings(data, store)).toBe(read)
    await updateSettings(data, store, { timezone: 'Asia/Tokyo' }, clock)
    expect(cachedSettings(data, store)).toBeUndefined()
    expect((await readSettings(data, store)).timezone).toBe('Asia/Tokyo')
  })
})

describe('a Save from a page (settingsEdits)', () => {
  const loaded = {
    store_name: 'Loaded',
    api_enabled: 'false',
    sync_hour: '1',
    smtp_port: '',
  }
  const current = (changes: Partial<typeof DEFAULT_SETTINGS>) => ({
    ...DEFAULT_SETTINGS,
    store_name: 'Loaded',
    ...changes,
  })

  test('only the fields that differ from what the page was rendered with are written', () => {
    const submitted = { store_name: 'Renamed', api_enabled: 'false', sync_hour: '1', smtp_port: '' }
    // The CLI turned the API on meanwhile: the page's untouched "false" does not undo it.
    expect(settingsEdits(current({ api_enabled: true }), submitted, loaded)).toEqual({
      changes: { store_name: 'Renamed' },
      conflicts: {},
    })
  })

  test('a field changed on the page and elsewhere is a conflict naming the other value', () => {
    const submitted = { store_name: 'Page name', sync_hour: '3' }
    expect(settingsEdits(current({ store_name: 'CLI name' }), submitted, loaded)).toEqual({
      changes: { sync_hour: '3' },
      conflicts: {
        store_name:
          'was changed elsewhere to "CLI name" while you edited it; Save again to replace it with yours',
      },
    })
    // The same change on both sides is no conflict, and nothing left to write.
    expect(settingsEdits(current({ sync_hour: 3 }), { sync_hour: '3' }, loaded)).toEqual({
      changes: {},
      conflicts: {},
    })
  })

  test('without loaded values (the CLI, an API client) every submitted field is written', () => {
    expect(settingsEdits(current({}), { store_name: 'Loaded', week_start: 'sunday' }, {})).toEqual({
      changes: { store_name: 'Loaded', week_start: 'sunday' },
      conflicts: {},
    })
  })

  test('a typed secret is always a change (the page never shows secrets), unknown keys go on to be refused', () => {
    expect(
      settingsEdits(
        current({}),
        { smtp_password: 'hunter2', nonsense: 'x' },
        { smtp_password: 'hunter2' },
      ),
    ).toEqual({ changes: { smtp_password: 'hunter2', nonsense: 'x' }, conflicts: {} })
  })
})
