import { Elysia } from 'elysia'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { Clock } from '../domain/clock.ts'
import { initialiseSettings } from '../domain/settings.ts'
import { ensureDefaultStore } from '../domain/stores.ts'
import { FailureThrottle } from '../domain/throttle.ts'
import type { AppContext } from './context.ts'
import { errorHandler } from './errors.ts'
import { healthRoutes } from './health.ts'
import { syncRoutes } from './sync.ts'

export interface AppOptions {
  db: Database
  config: Config
  clock: Clock
}

/** Builds the whole HTTP app over an open database; `serve` listens with it, tests call `handle`. */
export function createApp({ db, config, clock }: AppOptions) {
  const store = ensureDefaultStore(db, clock)
  initialiseSettings(db, store.id, clock)
  const ctx: AppContext = {
    db,
    config,
    clock,
    store,
    keyThrottle: new FailureThrottle(clock),
  }
  const app = new Elysia().use(errorHandler).use(healthRoutes(ctx)).use(syncRoutes(ctx))
  return Object.assign(app, { context: ctx })
}

export type App = ReturnType<typeof createApp>
