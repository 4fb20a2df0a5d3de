import { isIP } from 'node:net'
import type { Core } from '../core.ts'

/** What every route plugin needs: the core (src/core.ts), given to createApp and to each plugin. */
export type AppContext = Core

/** What a handler needs of Bun's server to know who called: the socket's address. */
export type AddressSource = { requestIP(r: Request): { address: string } | null } | null

/**
 * The client's address: the socket's, or behind N trusted proxies (MIDA_TRUST_PROXY) the Nth
 * `X-Forwarded-For` entry from the right, the one the proxy the client reached appended. Entries
 * left of it are the client's own words, never used; without an IP address there, the socket's.
 */
export function clientAddress(ctx: AppContext, request: Request, server: AddressSource): string {
  const proxies = ctx.config.trustProxy
  if (proxies > 0) {
    // Several X-Forwarded-For lines arrive joined by ", ", in order: one list either way.
    const entries = request.headers.get('x-forwarded-for')?.split(',')
    const forwarded = entries?.[entries.length - proxies]?.trim()
    if (forwarded && isIP(forwarded) !== 0) return forwarded
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
