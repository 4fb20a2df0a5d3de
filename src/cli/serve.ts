import { startBackgroundJobs } from '../domain/scheduler.ts'
import { createApp } from '../http/app.ts'
import { ensureAdminAtStartup } from './admin.ts'
import type { Runtime } from './runtime.ts'

export const SERVE_HELP = `Usage: mida-export serve [--port N] [--host ADDR] [--data-dir DIR] [--base-url URL]

Runs the HTTP server (settings page, sync API) and the scheduler. Stops cleanly on SIGTERM/SIGINT.`

/** `serve`: listens until a signal arrives, then closes the server and the database. */
export async function runServe(rt: Runtime): Promise<number> {
  const app = createApp({ db: rt.db, config: rt.config, clock: rt.clock })
  app.listen({ port: rt.config.port, hostname: rt.config.host })
  const server = app.server
  if (!server) throw new Error('The server did not start')
  // With --port 0 the default public URL names the port the system picked.
  if (rt.config.port === 0 && rt.config.baseUrl.endsWith(':0')) {
    rt.config.baseUrl = `${rt.config.baseUrl.slice(0, -2)}:${server.port}`
  }
  rt.io.err(
    `mida-export listening on http://${rt.config.host}:${server.port} (public URL ${rt.config.baseUrl}, data in ${rt.config.dataDir})\n`,
  )
  await ensureAdminAtStartup(rt.db, rt.config, rt.clock, (line) => rt.io.err(`${line}\n`))
  const jobs = startBackgroundJobs({
    db: rt.db,
    clock: rt.clock,
    mailer: app.context.mailer,
    baseUrl: rt.config.baseUrl,
    log: (line) => rt.io.err(line),
  })
  await new Promise<void>((resolveStop) => {
    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) process.exit(130) // a second signal: exit at once
      stopping = true
      rt.io.err(`${signal} received, shutting down…\n`)
      await jobs.stop()
      await app.stop()
      resolveStop()
    }
    process.on('SIGTERM', () => void stop('SIGTERM'))
    process.on('SIGINT', () => void stop('SIGINT'))
  })
  rt.db.close()
  return 0
}
