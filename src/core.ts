// The core: everything a running mida-export holds, in one object built by one start-up path.
// `serve`, every CLI command and the test factory open it with openCore and close it with
// closeCore; nothing lives in a module beside it (two cores in one process share nothing).
import type { Config } from './config.ts'
import type { Data } from './db/data.ts'
import { openData } from './db/open.ts'
import { OpenSessions } from './db/sqlite/trackerBatch.ts'
import type { Clock } from './domain/clock.ts'
import { sealPlaintextDestinations } from './domain/destinations.ts'
import { TooManyRequests } from './domain/errors.ts'
import { configuredMailer, type Mailer, type MailerResolver } from './domain/mailer.ts'
import { SyncRequestLog } from './domain/requestLog.ts'
import { initialiseSettings, sealPlaintextSecrets } from './domain/settings.ts'
import { type AttemptThrottle, SharedThrottle } from './domain/sharedThrottle.ts'
import { ensureDefaultStore } from './domain/stores.ts'
import { Throttle } from './lib/throttle.ts'

/** What a running server or command works with; routes, commands and jobs are given it. */
export interface Core {
  readonly config: Config
  readonly clock: Clock
  /**
   * The data layer on the configured engine (SQLite, or PostgreSQL with MIDA_DATABASE_URL):
   * every query, in transactions, through src/db's query modules; the engine's hot writers
   * through `ingestEngine(data)`.
   */
  readonly data: Data
  /** The mailer for a store's emails (null: no SMTP configured); resolved at each send. */
  readonly mailer: MailerResolver
  /** Failed API-key attempts per client address (in the database on PostgreSQL: shared). */
  readonly keyThrottle: AttemptThrottle
  /** Failed logins per client address (in the database on PostgreSQL: shared). */
  readonly loginThrottle: AttemptThrottle
  /** Tracker events per visitor. */
  readonly collectLimiter: Throttle
  /** Tracker events per client address. */
  readonly collectIpLimiter: Throttle
  /** The sync API's call log, buffered until flushed (closeCore flushes it). */
  readonly callLog: SyncRequestLog
  /** The tracker's latest session per visitor, as last written. */
  readonly openSessions: OpenSessions
}

export interface CoreOptions {
  config: Config
  clock: Clock
  /** Sends every email (tests inject one); default: MIDA_SMTP_URL, else the saved SMTP settings. */
  mailer?: Mailer
  /** Told about start-up repairs (permissions tightened, secrets sealed), one line each. */
  log?: (line: string) => void
}

/**
 * Opens the core: the data directory's database (migrated, with MIDA_SECRET_KEY), secrets saved
 * before the key was set sealed, the default store on a fresh install, the throttles.
 */
export async function openCore({ config, clock, mailer, log }: CoreOptions): Promise<Core> {
  const data = await openData({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    secretKey: config.secretKey,
    log,
  })
  try {
    await sealPlaintextSecrets(data, log)
    await sealPlaintextDestinations(data, log)
    // A fresh install gets its one store, `default`, with its first settings.
    await initialiseSettings(data, await ensureDefaultStore(data, clock), clock)
    const nowMs = () => clock.now().epochMilliseconds
    const refuse = (seconds: number) => new TooManyRequests(seconds)
    // Several nodes may share a PostgreSQL database: failures are counted there. One SQLite
    // process counts them in memory.
    const attempts = (name: string, limit: Config['keyAttempts']): AttemptThrottle =>
      data.engine === 'postgres'
        ? new SharedThrottle(data, name, nowMs, limit, refuse)
        : new Throttle(nowMs, limit, refuse)
    return {
      config,
      clock,
      data,
      mailer: mailer ? async () => mailer : configuredMailer(config, data),
      keyThrottle: attempts('api-key', config.keyAttempts),
      loginThrottle: attempts('login', config.loginAttempts),
      collectLimiter: new Throttle(
        nowMs,
        config.collectRate,
        (s) => new TooManyRequests(s, 'Too many events from this visitor'),
      ),
      collectIpLimiter: new Throttle(
        nowMs,
        config.collectIpRate,
        (s) => new TooManyRequests(s, 'Too many events from this address'),
      ),
      callLog: new SyncRequestLog(data),
      openSessions: new OpenSessions(),
    }
  } catch (err) {
    await data.close()
    throw err
  }
}

/** Closes the core: the waiting call-log lines are written, then the database is closed. */
export async function closeCore(core: Core): Promise<void> {
  await core.callLog.close()
  await core.data.close()
}
