import { Elysia } from 'elysia'
import type { Core } from '../core.ts'
import { CollectQueue } from '../domain/collect.ts'
import { assetRoutes } from './assets.ts'
import { authRoutes } from './auth.ts'
import { COLLECT_PATH, collectHandler, collectRoutes, trackingSettingsRoutes } from './collect.ts'
import { destinationRoutes } from './destinations.tsx'
import { errorHandler } from './errors.ts'
import { healthRoutes } from './health.ts'
import { importRoutes } from './import.ts'
import { notificationRoutes } from './notifications.tsx'
import { onboardingRoutes } from './onboarding.tsx'
import { openApiRoutes } from './openapi.ts'
import { pageRoutes } from './pages.ts'
import { reportRoutes, reportSettingsRoutes } from './report.ts'
import { MAX_REQUEST_BODY_BYTES, security } from './security.ts'
import { settingsRoutes } from './settings.tsx'
import { STORE_PREFIX, storesRoutes } from './stores.tsx'
import { SYNC_PATH, syncHandler, syncRoutes } from './sync.ts'
import { webhookRoutes } from './webhooks.ts'

/** Builds the whole HTTP app over an open core (openCore); `serve` listens, tests call `handle`. */
export function createApp(ctx: Core) {
  const { config } = ctx
  const sync = syncHandler(ctx)
  const queue = new CollectQueue(ctx.data, ctx.openSessions, ctx.clock)
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
    .use(reportRoutes(ctx))
    .use(collectRoutes(ctx, queue))
    .use(webhookRoutes(ctx))
    .use(importRoutes(ctx))
    .use(openApiRoutes(ctx))
    .use(assetRoutes())
    .use(authRoutes(ctx))
    .use(pageRoutes(ctx))
    .use(storesRoutes(ctx))
  // A store's settings page and fragments, at `/stores/<slug>/settings…`, and for the first store
  // (the admin's first) also at `/settings…`, the single-store versions' address.
  for (const prefix of [STORE_PREFIX, '']) {
    app
      .use(settingsRoutes(ctx, prefix))
      .use(trackingSettingsRoutes(ctx, prefix))
      .use(notificationRoutes(ctx, prefix))
      .use(reportSettingsRoutes(ctx, prefix))
      .use(destinationRoutes(ctx, prefix))
      .use(onboardingRoutes(ctx, sync, prefix))
  }
  return Object.assign(app, { context: ctx })
}
