import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { Clock } from '../domain/clock.ts'
import type { MailerResolver } from '../domain/mailer.ts'
import type { Store } from '../domain/stores.ts'
import type { FailureThrottle, RateLimiter } from '../domain/throttle.ts'

/** What every route plugin needs: built once by createApp and passed to each plugin. */
export interface AppContext {
  db: Database
  config: Config
  clock: Clock
  store: Store
  /** Failed API-key attempts per client address. */
  keyThrottle: FailureThrottle
  /** Failed logins per client address. */
  loginThrottle: FailureThrottle
  /** Tracker events per visitor. */
  collectLimiter: RateLimiter
  /** The mailer for a store's emails (null: no SMTP configured); resolved at each send. */
  mailer: MailerResolver
}

/** What a handler needs of Bun's server to know who called: the socket's address. */
export type AddressSource = { requestIP(r: Request): { address: string } | null } | null

/** The client's address: the socket's, or the first `X-Forwarded-For` hop behind a trusted proxy. */
export function clientAddress(ctx: AppContext, request: Request, server: AddressSource): string {
  if (ctx.config.trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded) return forwarded
  }
  return server?.requestIP(request)?.address ?? 'local'
}

/** A JSON response with the given status. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  })
}
