import { Elysia } from 'elysia'
import { VERSION } from '../version.ts'
import type { AppContext } from './context.ts'

/** `GET /healthz`: answers once the database is reachable. */
export function healthRoutes(ctx: AppContext) {
  return new Elysia({ name: 'health' }).get('/healthz', () => {
    ctx.db.query('SELECT 1').get()
    return { status: 'ok', version: VERSION }
  })
}
