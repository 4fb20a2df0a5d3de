import { createHash } from 'node:crypto'
import picoCss from '@picocss/pico/css/pico.min.css' with { type: 'text' }
import htmxJs from 'htmx.org/dist/htmx.min.js' with { type: 'text' }
import appCss from './static/app.css' with { type: 'text' }
import appJs from './static/app.js' with { type: 'text' }
import favicon from './static/favicon.svg' with { type: 'text' }

/** A static file the pages load, as served by `GET /assets/:name` (src/http/assets.ts). */
export interface Asset {
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

/** The asset of that name; own names only (`constructor` or `__proto__` are no asset). */
export function findAsset(name: string): Asset | undefined {
  return Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
}

/** The URL of a static asset, with its content hash for caching. */
export function assetUrl(name: string): string {
  const a = findAsset(name)
  if (!a) throw new Error(`Unknown asset ${name}`)
  return `/assets/${name}?v=${a.hash}`
}
