import { Elysia } from 'elysia'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { Clock } from '../domain/clock.ts'
import { CollectQueue } from '../domain/collect.ts'
import { TooManyRequests } from '../domain/errors.ts'
import { configuredMailer, type Mailer } from '../domain/mailer.ts'
import { bindSecretKey } from '../domain/secrets.ts'
import { initialiseSettings, sealPlaintextSecrets } from '../domain/settings.ts'
import { ensureDefaultStore } from '../domain/stores.ts'
import { Throttle } from '../lib/throttle.ts'
import { assetRoutes } from './assets.ts'
import { authRoutes } from './auth.ts'
import { COLLECT_PATH, collectHandler, collectRoutes } from './collect.ts'
import type { AppContext } from './context.ts'
import { errorHandler } from './errors.ts'
import { healthRoutes } from './health.ts'
import { importRoutes } from './import.ts'
import { notificationRoutes } from './notifications.tsx'
import { onboardingRoutes } from './onboarding.tsx'
import { pageRoutes } from './pages.ts'
import { MAX_REQUEST_BODY_BYTES, security } from './security.ts'
import { settingsRoutes } from './settings.tsx'
import { SYNC_PATH, syncHandler, syncRoutes } from './sync.ts'
import { webhookRoutes } from './webhooks.ts'

export interface AppOptions {
  db: Database
  config: Config
  clock: Clock
  /** Sends every email (tests inject one); default: MIDA_SMTP_URL, else the saved SMTP settings. */
  mailer?: Mailer
}

/** Builds the whole HTTP app over an open database; `serve` listens with it, tests call `handle`. */
export function createApp({ db, config, clock, mailer }: AppOptions) {
  bindSecretKey(db, config.secretKey)
  sealPlaintextSecrets(db)
  const store = ensureDefaultStore(db, clock)
  initialiseSettings(db, store.id, clock)
  const nowMs = () => clock.now().epochMilliseconds
  const ctx: AppContext = {
    db,
    config,
    clock,
    store,
    keyThrottle: new Throttle(nowMs, config.keyAttempts, (s) => new TooManyRequests(s)),
    loginThrottle: new Throttle(nowMs, config.loginAttempts, (s) => new TooManyRequests(s)),
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
    mailer: mailer ? () => mailer : configuredMailer(config, db),
  }
  const sync = syncHandler(ctx)
  const queue = new CollectQueue(db, clock)
  const collect = collectHandler(ctx, queue)
  const app = new Elysia({
    serve: {
      maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
      // The two busiest routes straight from Bun's router: each handler does all that a route's
      // hooks would do (security headers, body limits, errors).
      routes: { [SYNC_PATH]: { POST: sync }, [COLLECT_PATH]: { POST: collect } },
    },
  })
    .use(security(config))
    .use(errorHandler)
    .use(healthRoutes(ctx))
    .use(syncRoutes(sync))
    .use(collectRoutes(ctx, queue))
    .use(webhookRoutes(ctx))
    .use(importRoutes(ctx))
    .use(assetRoutes())
    .use(authRoutes(ctx))
    .use(pageRoutes(ctx))
    .use(settingsRoutes(ctx))
    .use(notificationRoutes(ctx))
    .use(onboardingRoutes(ctx, sync))
  return Object.assign(app, { context: ctx })
}
