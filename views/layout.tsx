import type { PropsWithChildren } from '@kitajs/html'
import { assetUrl } from './assets.ts'

export interface LayoutProps {
  title: string
  /** The session's CSRF token: sent by every htmx request through `hx-headers` on `<body>`. */
  csrfToken?: string
  /** A class on `<body>` (e.g. `narrow` for the login and setup forms). */
  bodyClass?: string
}

/** The HTML document around every page: Pico CSS, htmx and the app's own script, all served locally. */
export function Layout({ title, csrfToken, bodyClass, children }: PropsWithChildren<LayoutProps>) {
  // Inheritance is explicit in htmx 4: `:inherited` makes every request inside <body> send the header.
  const bodyAttributes: Record<string, string> = csrfToken
    ? { 'hx-headers:inherited': JSON.stringify({ 'X-CSRF-Token': csrfToken }) }
    : {}
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        {/* htmx's indicator styles live in app.css; an injected stylesheet would break a strict CSP. */}
        <meta name="htmx-config" content='{"includeIndicatorCSS":false}' />
        <title safe>{title}</title>
        <link rel="icon" href={assetUrl('favicon.svg')} type="image/svg+xml" />
        <link rel="stylesheet" href={assetUrl('pico.min.css')} />
        <link rel="stylesheet" href={assetUrl('app.css')} />
        <script src={assetUrl('htmx.min.js')} defer></script>
        <script src={assetUrl('app.js')} defer></script>
      </head>
      <body class={bodyClass} {...bodyAttributes}>
        {children}
      </body>
    </html>
  )
}

/** The top bar's Log out: a POST with the session's CSRF token (a link could be forged). */
export function LogoutForm({ csrfToken }: { csrfToken: string }) {
  return (
    <form method="post" action="/logout" class="logout">
      <input type="hidden" name="_csrf" value={csrfToken} />
      <button type="submit" class="secondary outline">
        Log out
      </button>
    </form>
  )
}
