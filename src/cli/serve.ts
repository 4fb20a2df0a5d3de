import { constants } from 'node:os'
import { closeCore } from '../core.ts'
import { redactUrl } from '../db/open.ts'
import { startBackgroundJobs } from '../domain/scheduler.ts'
import { createApp } from '../http/app.ts'
import { ensureAdminAtStartup } from './admin.ts'
import type { Runtime } from './runtime.ts'

export const SERVE_HELP = `Usage: mida-export serve [--port N] [--host ADDR] [--data-dir DIR] [--base-url URL]
                         [--trust-proxy[=N]]

Runs the HTTP server (settings page, sync API) and the scheduler. With --database-url
(MIDA_DATABASE_URL=postgres://…) it runs on PostgreSQL, and several serve processes may share
that database behind a load balancer. Stops cleanly on SIGTERM/SIGINT:
new connections are refused, requests in flight finish (up to 30 s), the scheduler and the email
sender stop, the database is closed, exit code 0. A second signal exits at once (143 or 130).
With MIDA_BACKUP_KEEP=N it also writes a daily backup to DATA_DIR/backups, keeping the newest N.
It deletes audit log entries older than MIDA_AUDIT_KEEP_DAYS (default 365; 0 keeps them) hourly.
--trust-proxy (MIDA_TRUST_PROXY) is for a server behind your own reverse proxy: the client address
(for the throttles, the tracker's per-address limit and the audit log) is then the X-Forwarded-For
entry your proxy appended, the rightmost; --trust-proxy=N with N proxies in a chain (a CDN in front
of nginx: 2) takes the Nth from the right. Entries a client sent itself are never used; without a
valid IP address there, the socket's address is used.`

/** How long a shutdown waits for requests in flight before closing their connections. */
const SHUTDOWN_GRACE_MS = 30_000

/**
 * Start-up (migrations, building the routes, the scheduler's first tick) leaves free memory that
 * JavaScriptCore hands back to the system only after about a minute idle (RSS 59 -> 57 MB on a
 * 1 M-session store, bench/RESULTS.md). Handed back now, an idle server is that size at once.
 * `Bun.shrink` is marked deprecated, hence the check; without it the server is the same, only
 * heavier for its first idle minute.
 */
function releaseStartupMemory(): void {
  Bun.gc(true)
  if (typeof Bun.shrink === 'function') Bun.shrink()
}

/** `serve`: listens until a signal arrives, then closes the server and the database. */
export async function runServe(rt: Runtime): Promise<number> {
  const app = createApp(rt)
  app.listen({ port: rt.config.port, hostname: rt.config.host })
  const server = app.server
  if (!server) throw new Error('The server did not start')
  // With --port 0 the default public URL names the port the system picked.
  if (rt.config.port === 0 && rt.config.baseUrl.endsWith(':0')) {
    rt.config.baseUrl = `${rt.config.baseUrl.slice(0, -2)}:${server.port}`
  }
  // Signals are caught from here on, so one arriving during start-up still stops cleanly.
  type StopSignal = 'SIGTERM' | 'SIGINT'
  let stopping = false
  const signalled = new Promise<StopSignal>((resolveSignal) => {
    const onSignal = (signal: StopSignal) => {
      if (stopping) {
        // A second signal: exit at once (143 for SIGTERM, 130 for SIGINT). Every committed
        // write is safe in SQLite's WAL; requests still in flight get no answer.
        rt.io.err(`${signal} received again, exiting now\n`)
        process.exit(128 + constants.signals[signal])
      }
      stopping = true
      resolveSignal(signal)
    }
    process.on('SIGTERM', () => onSignal('SIGTERM'))
    process.on('SIGINT', () => onSignal('SIGINT'))
  })
  const where = rt.config.databaseUrl
    ? `PostgreSQL at ${redactUrl(rt.config.databaseUrl)}`
    : `data in ${rt.config.dataDir}`
  rt.io.err(
    `mida-export listening on http://${rt.config.host}:${server.port} (public URL ${rt.config.baseUrl}, ${where})\n`,
  )
  if (rt.config.databaseUrl && rt.config.backupKeep > 0)
    rt.io.err(
      'MIDA_BACKUP_KEEP is for SQLite and is ignored here: back up PostgreSQL with pg_dump\n',
    )
  await ensureAdminAtStartup(rt.data, rt.config, rt.clock, (line) => rt.io.err(`${line}\n`))
  const jobs = startBackgroundJobs({
    data: rt.data,
    clock: rt.clock,
    mailer: app.context.mailer,
    baseUrl: rt.config.baseUrl,
    log: (line) => rt.io.err(line),
    // PostgreSQL is backed up with its own tools (pg_dump); MIDA_BACKUP_KEEP is SQLite's.
    backup:
      rt.data.engine === 'sqlite'
        ? { data: rt.data, dataDir: rt.config.dataDir, keep: rt.config.backupKeep }
        : undefined,
    auditKeepDays: rt.config.auditKeepDays,
    destinations: { allowPrivate: rt.config.allowPrivateDestinations },
  })
  releaseStartupMemory()
  const signal = await signalled
  rt.io.err(
    `${signal} received, shutting down: finishing requests in flight (${signal} again to exit now)…\n`,
  )
  // New connections are refused at once; requests in flight finish, up to the grace period.
  const force = setTimeout(() => {
    rt.io.err(`Requests still running after ${SHUTDOWN_GRACE_MS / 1000} s; closing them\n`)
    void server.stop(true)
  }, SHUTDOWN_GRACE_MS)
  // The plugins' stop hooks run once the server has stopped (the collect queue flushes).
  await Promise.all([app.stop(), jobs.stop()])
  clearTimeout(force)
  await closeCore(rt)
  return 0
}
