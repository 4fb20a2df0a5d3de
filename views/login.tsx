import { attrText } from './fields.tsx'
import { Layout } from './layout.tsx'

export interface LoginPageProps {
  email?: string
  next: string
  error?: string
  /** The pre-login CSRF token (also in a cookie). */
  csrfToken: string
  /** No admin exists yet: point to the setup link and the CLI. */
  noAdmin: boolean
  /** Just logged out (`/login?logged_out=1`, where Log out leads): say so. */
  loggedOut?: boolean
}

/** The admin login form (a plain form post: it works before any script has loaded). */
export function LoginPage(props: LoginPageProps) {
  return (
    <Layout title="Log in · mida-export" bodyClass="narrow">
      <main class="container">
        <article>
          <header>
            <h1>mida-export</h1>
            <p>Log in to manage the analytics export.</p>
          </header>
          {props.noAdmin ? (
            <p class="notice" role="status">
              No admin exists yet. Open the one-time setup link the server printed in its console,
              or create one with <code>mida-export admin create --email E --password P</code>.
            </p>
          ) : (
            ''
          )}
          {props.loggedOut && !props.error ? (
            <p class="notice" role="status">
              You have been logged out.
            </p>
          ) : (
            ''
          )}
          {props.error ? (
            <p class="error" role="alert" id="login-error" safe>
              {props.error}
            </p>
          ) : (
            ''
          )}
          <form method="post" action="/login">
            <input type="hidden" name="_csrf" value={props.csrfToken} />
            <input type="hidden" name="next" value={attrText(props.next)} />
            <LoginFields idPrefix="login" email={props.email} error={props.error} />
            <button type="submit">Log in</button>
          </form>
        </article>
      </main>
    </Layout>
  )
}

/**
 * The email and password fields of a login, on the login page and in the re-login dialog:
 * `idPrefix` keeps their ids apart, and the password points at `IDPREFIX-error` when there is one.
 */
export function LoginFields(props: { idPrefix: string; email?: string; error?: string }) {
  const { idPrefix } = props
  return (
    <>
      <label for={`${idPrefix}-email`}>
        Email
        <input
          id={`${idPrefix}-email`}
          name="email"
          type="email"
          autocomplete="username"
          required
          value={attrText(props.email ?? '')}
          autofocus={!props.email}
        />
      </label>
      <label for={`${idPrefix}-password`}>
        Password
        <input
          id={`${idPrefix}-password`}
          name="password"
          type="password"
          autocomplete="current-password"
          required
          autofocus={Boolean(props.email)}
          aria-describedby={props.error ? `${idPrefix}-error` : undefined}
        />
      </label>
    </>
  )
}
