import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { createApiKey } from '../../src/domain/keys.ts'
import { OutboxSender } from '../../src/domain/outbox.ts'
import { updateSettings } from '../../src/domain/settings.ts'
import { seedDstWeek } from '../reportData.ts'
import { type SmtpSink, startSmtpSink } from '../smtp.ts'
import { createTestApp, type TestApp } from '../utils.ts'

// Monday 2026-11-02, 07:00 in New York: the last completed week is the DST week (Oct 26 - Nov 1).
const NOW = '2026-11-02T12:00:00Z'

let t: TestApp
let sink: SmtpSink
let key: string

beforeEach(async () => {
  sink = await startSmtpSink()
  t = await createTestApp({
    now: NOW,
    settings: {
      timezone: 'America/New_York',
      store_email: 'owner@acme.test',
      api_enabled: true,
      sync_frequency: 'weekly',
      notify_success: true,
      notify_attach_csv: true,
    },
  })
  await updateSettings(
    t.data,
    t.store,
    { smtp_host: '127.0.0.1', smtp_port: sink.port, smtp_security: 'none' },
    t.clock,
  )
  key = (await createApiKey(t.data, t.store, 'looker', 'export', t.clock)).secret
  await seedDstWeek(t.data, t.store, t.clock)
})

afterEach(async () => {
  t.close()
  await sink.stop()
})

const sender = () =>
  new OutboxSender({
    data: t.data,
    clock: t.clock,
    mailer: t.app.context.mailer,
    baseUrl: t.config.baseUrl,
  })

async function syncNow(): Promise<void> {
  const res = await t.request('/apiv1/analytics/sync', {
    method: 'POST',
    headers: { 'x-mida-secret-key': key },
  })
  expect(res.status).toBe(200)
}

/** The attachments of a raw MIME message: filename, content type and decoded text. */
function attachments(raw: string): { filename: string; type: string; text: string }[] {
  const boundaries = [...raw.matchAll(/boundary="?([^"\r\n;]+)"?/g)].map((m) => m[1]!)
  const parts = boundaries.flatMap((b) => raw.split(`--${b}`))
  const found: { filename: string; type: string; text: string }[] = []
  for (const part of parts) {
    const [head = '', ...rest] = part.split('\r\n\r\n')
    const headers = head.replace(/\r\n[ \t]+/g, ' ')
    const filename = /Content-Disposition:\s*attachment;\s*filename="?([^"\r\n]+)"?/i.exec(headers)
    if (!filename) continue
    const body = rest.join('\r\n\r\n').replace(/\r\n$/, '')
    const encoding = /Content-Transfer-Encoding:\s*(\S+)/i.exec(headers)?.[1]?.toLowerCase()
    const bytes =
      encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
        : encoding === 'quoted-printable'
          ? Buffer.from(
              body
                .replace(/=\r\n/g, '')
                .replace(/=([0-9A-F]{2})/gi, (_, h: string) =>
                  String.fromCharCode(Number.parseInt(h, 16)),
                ),
              'latin1',
            )
          : Buffer.from(body)
    const type = /Content-Type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? ''
    found.push({ filename: filename[1]!, type, text: bytes.toString('utf8') })
  }
  return found
}

describe("the success email's CSV attachment (notify_attach_csv)", () => {
  test("carries the period's day CSV, equal to the report API's for those days", async () => {
    await syncNow()
    await sender().runOnce()
    await sink.waitFor(1)
    const report = await t.request(
      '/apiv1/analytics/report?format=csv&from=2026-10-26&to=2026-11-01',
      { headers: { 'x-mida-secret-key': key } },
    )
    const csv = await report.text()
    expect(csv.split('\r\n')).toHaveLength(9)
    const files = attachments(sink.messages[0]!.raw)
    expect(files).toEqual([
      {
        filename: 'default-2026-10-26_2026-11-01.csv',
        type: expect.stringContaining('text/csv'),
        text: csv,
      },
    ])
  })

  test('the setting is read at send time: off then, no attachment', async () => {
    await syncNow()
    await updateSettings(t.data, t.store, { notify_attach_csv: false }, t.clock)
    await sender().runOnce()
    await sink.waitFor(1)
    expect(attachments(sink.messages[0]!.raw)).toEqual([])
    expect(sink.messages[0]!.raw).not.toContain('text/csv')
  })

  test('on at send time though off when the sync ran: attached', async () => {
    await updateSettings(t.data, t.store, { notify_attach_csv: false }, t.clock)
    await syncNow()
    await updateSettings(t.data, t.store, { notify_attach_csv: true }, t.clock)
    await sender().runOnce()
    await sink.waitFor(1)
    expect(attachments(sink.messages[0]!.raw).map((f) => f.filename)).toEqual([
      'default-2026-10-26_2026-11-01.csv',
    ])
  })

  test('a failure email has none', async () => {
    const logged = spyOn(console, 'error').mockImplementation(() => {})
    await t.data.run('ALTER TABLE sessions RENAME TO sessions_gone')
    const res = await t.request('/apiv1/analytics/sync', {
      method: 'POST',
      headers: { 'x-mida-secret-key': key },
    })
    await t.data.run('ALTER TABLE sessions_gone RENAME TO sessions')
    logged.mockRestore()
    expect(res.status).toBe(500)
    await sender().runOnce()
    await sink.waitFor(1)
    expect(sink.messages[0]!.subject).toContain('Failed')
    expect(attachments(sink.messages[0]!.raw)).toEqual([])
  })
})
