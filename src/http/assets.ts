import { createHash } from 'node:crypto'
import picoCss from '@picocss/pico/css/pico.min.css' with { type: 'text' }
import { Elysia } from 'elysia'
import htmxJs from 'htmx.org/dist/htmx.min.js' with { type: 'text' }
import appCss from '../../views/static/app.css' with { type: 'text' }
import appJs from '../../views/static/app.js' with { type: 'text' }
import favicon from '../../views/static/favicon.svg' with { type: 'text' }

interface Asset {
  body: string
  type: string
  /** A short content hash: URLs carry it, so a changed file is fetched again. */
  hash: string
}

function asset(body: string, type: string): Asset {
  return { body, type, hash: createHash('sha256').update(body).digest('base64url').slice(0, 12) }
}

// Imported as text, so `bun build --compile` embeds them in the binary: nothing comes from a CDN.
const ASSETS: Record<string, Asset> = {
  'htmx.min.js': asset(htmxJs, 'text/javascript; charset=utf-8'),
  'pico.min.css': asset(picoCss, 'text/css; charset=utf-8'),
  'app.css': asset(appCss, 'text/css; charset=utf-8'),
  'app.js': asset(appJs, 'text/javascript; charset=utf-8'),
  'favicon.svg': asset(favicon, 'image/svg+xml'),
}

/** The URL of a static asset, with its content hash for caching. */
export function assetUrl(name: keyof typeof ASSETS | string): string {
  const a = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
  if (!a) throw new Error(`Unknown asset ${name}`)
  return `/assets/${name}?v=${a.hash}`
}

/** `GET /assets/:name`: htmx, Pico CSS and the app's own script and styles. */
export function assetRoutes() {
  return new Elysia({ name: 'assets' }).get('/assets/:name', ({ params, query, request }) => {
    // Own names only: `constructor` or `__proto__` are no asset.
    const a = Object.hasOwn(ASSETS, params.name) ? ASSETS[params.name] : undefined
    if (!a) return new Response('Not found', { status: 404 })
    const etag = `"${a.hash}"`
    const headers = {
      'content-type': a.type,
      etag,
      'x-content-type-options': 'nosniff',
      // A URL with the current hash never changes; without it, revalidate each time.
      'cache-control':
        query.v === a.hash
          ? 'public, max-age=31536000, immutable'
          : 'public, max-age=0, must-revalidate',
    }
    if (request.headers.get('if-none-match') === etag)
      return new Response(null, { status: 304, headers })
    return new Response(a.body, { headers })
  })
}
