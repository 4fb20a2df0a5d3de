import { Elysia } from 'elysia'
import { findAsset } from '../../views/assets.ts'

/** `GET /assets/:name`: htmx, Pico CSS and the app's own script and styles. */
export function assetRoutes() {
  return new Elysia({ name: 'assets' }).get('/assets/:name', ({ params, query, request }) => {
    const a = findAsset(params.name)
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
