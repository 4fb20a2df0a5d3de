import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildBinary } from '../scripts/build.ts'
import { startSmtpSink } from './smtp.ts'
import { engineEnv, TEST_ENGINE, tempDir } from './utils.ts'

// The compiled binary, copied alone into an empty directory, must serve, import and sync.
describe('the single binary', () => {
  const build = tempDir('mida-build-')
  const run = tempDir('mida-run-')
  const binary = join(run.dir, 'mida-export')
  // Every run of the binary on the run's engine (one database, shared by all of them).
  let engine: Record<string, string> = {}

  beforeAll(async () => {
    engine = await engineEnv()
    const out = join(build.dir, 'mida-export')
    const built = buildBinary(out)
    if (built.exitCode !== 0) throw new Error(`build failed: ${built.output}`)
    copyFileSync(out, binary)
  }, 120_000)

  afterAll(() => {
    build.cleanup()
    run.cleanup()
  })

  const cli = (...args: string[]) => {
    const p = Bun.spawnSync([binary, ...args], {
      cwd: run.dir,
      stdout: 'pipe',
      stderr: 'pipe',
      env: { PATH: '/usr/bin:/bin', ...engine },
    })
    return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() }
  }

  test('prints its version', () => {
    expect(cli('--version')).toEqual({ code: 0, out: '0.1.0\n', err: '' })
  })

  test('imports, serves /healthz, a sync, its email and a page from an empty directory', async () => {
    const ndjson = join(run.dir, 'sessions.ndjson')
    await Bun.write(
      ndjson,
      `${JSON.stringify({ id: 's1', visitor_id: 'v1', started_at: '2026-01-10T12:00:00Z', pageviews: 3 })}\n`,
    )
    // The scheduler's first tick syncs yesterday at once (sync hour 0) and emails the result:
    // nodemailer is loaded on first use, from its own chunk of the binary.
    expect(
      cli(
        'settings',
        'set',
        'timezone=UTC',
        'api_enabled=true',
        'sync_hour=0',
        'notify_success=true',
        'notify_recipient=owner@shop.example',
      ).code,
    ).toBe(0)
    const imported = cli('import', 'sessions', ndjson, '--json')
    expect(imported.code).toBe(0)
    expect(JSON.parse(imported.out)).toMatchObject({ inserted: 1, rejected: 0 })
    const key = JSON.parse(cli('keys', 'create', '--name', 'ci', '--json').out).key as string

    const smtp = await startSmtpSink()
    const server = Bun.spawn([binary, 'serve', '--port', '0'], {
      cwd: run.dir,
      stdout: 'pipe',
      stderr: 'pipe',
      env: { PATH: '/usr/bin:/bin', ...engine, MIDA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}` },
    })
    try {
      const reader = server.stderr.getReader()
      let banner = ''
      while (!/listening on (http:\/\/\S+)/.test(banner)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`server exited: ${banner}`)
        banner += new TextDecoder().decode(value)
      }
      reader.releaseLock()
      const base = /listening on (http:\/\/\S+)/.exec(banner)![1]!
      const health = await fetch(`${base}/healthz`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({
        status: 'ok',
        version: '0.1.0',
        engine: TEST_ENGINE,
        database: 'ok',
      })

      const res = await fetch(`${base}/apiv1/analytics/sync`, {
        method: 'POST',
        headers: { 'x-mida-secret-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ date: '2026-01-10' }),
      })
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(body.period).toEqual({
        start: '2026-01-10T00:00:00+00:00',
        end: '2026-01-11T00:00:00+00:00',
        label: '2026-01-10',
        timezone: 'UTC',
      })
      expect(body.data.total_sessions).toBe(1)
      expect(body.data.total_pageviews).toBe(3)

      const [mail] = await smtp.waitFor(1, 15_000)
      expect(mail!.to).toEqual(['owner@shop.example'])
      expect(mail!.subject).toMatch(/^\[Analytics Sync\] Success - \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/)

      // A page (the JSX views) and the htmx it loads, both from inside the binary.
      const login = await fetch(`${base}/login`)
      expect(login.status).toBe(200)
      const page = await login.text()
      const htmx = /src="(\/assets\/htmx\.min\.js\?v=[^"]+)"/.exec(page)?.[1]
      expect(htmx).toBeDefined()
      const script = await fetch(`${base}${htmx}`)
      expect(script.status).toBe(200)
      expect(await script.text()).toContain('htmx')
      // The API reference, rendered from inside the binary too.
      const docs = await fetch(`${base}/docs`)
      expect(docs.status).toBe(200)
      expect(await docs.text()).toContain('<code>/apiv1/analytics/sync</code>')
      const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string }
      expect(openapi.openapi).toBe('3.1.1')
    } finally {
      server.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      await smtp.stop()
    }
  }, 60_000)
})
