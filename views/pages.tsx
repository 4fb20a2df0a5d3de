import { Layout } from './layout.tsx'

/** The settings page's address: where a lost browser is sent back to. */
const HOME = '/settings'

/** Where a message page leads back to. */
export interface BackLink {
  href: string
  label: string
}

/**
 * A page with one message and a way back: a browser's error page (an unknown address, a refused
 * request) leads to the settings page, an expired setup link to the login page.
 */
export function MessagePage({
  title,
  message,
  back = { href: HOME, label: 'Go to the settings page' },
}: {
  title: string
  message: string
  back?: BackLink
}) {
  return (
    <Layout title={`${title} · mida-export`} bodyClass="narrow">
      <main class="container">
        <article>
          <header>
            <h1 safe>{title}</h1>
          </header>
          <p safe>{message}</p>
          <p>
            <a href={back.href} safe>
              {back.label}
            </a>
          </p>
        </article>
      </main>
    </Layout>
  )
}

/**
 * `GET /logout` for a logged-in admin: logging out is a POST with the session's CSRF token (a link
 * or an image on another site must not log anyone out), so the page asks with a button.
 */
export function LogoutPage({ email, csrfToken }: { email: string; csrfToken: string }) {
  return (
    <Layout title="Log out · mida-export" bodyClass="narrow" csrfToken={csrfToken}>
      <main class="container">
        <article>
          <header>
            <h1>Log out</h1>
          </header>
          <p>
            Logged in as <strong safe>{email}</strong>.
          </p>
          <form method="post" action="/logout">
            <input type="hidden" name="_csrf" value={csrfToken} />
            <button type="submit">Log out</button>
          </form>
          <p>
            <a href={HOME}>Back to the settings page</a>
          </p>
        </article>
      </main>
    </Layout>
  )
}
