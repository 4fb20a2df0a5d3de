import { Elysia } from 'elysia'
import { ping } from '../db/health.ts'
import { VERSION } from '../version.ts'
import type { AppContext } from './context.ts'

/** `GET /healthz`: answers once the database is reachable. */
export function healthRoutes(ctx: AppContext) {
  return new Elysia({ name: 'health' }).get('/healthz', async () => {
    await ping(ctx.data)
    return { status: 'ok', version: VERSION }
  })
}
