import { Elysia } from 'elysia'
import { ping } from '../db/health.ts'
import { VERSION } from '../version.ts'
import type { AppContext } from './context.ts'

/**
 * `GET /healthz`: the engine and whether the database answers. 200 with `database: "ok"`; 503
 * with `database: "unreachable"` and the reason when it does not (a load balancer takes the node
 * out), never a stack or a credential.
 */
export function healthRoutes(ctx: AppContext) {
  return new Elysia({ name: 'health' }).get('/healthz', async ({ set }) => {
    const engine = ctx.data.engine
    try {
      await ping(ctx.data)
      return { status: 'ok', version: VERSION, engine, database: 'ok' }
    } catch (err) {
      set.status = 503
      return {
        status: 'error',
        version: VERSION,
        engine,
        database: 'unreachable',
        error: (err as Error).message,
      }
    }
  })
}
