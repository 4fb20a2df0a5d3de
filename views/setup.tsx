import type { FieldState } from './fields.tsx'
import { TextField } from './fields.tsx'
import { Layout } from './layout.tsx'

export interface SetupPageProps {
  token: string
  email: string
  errors: Record<string, string>
}

/** First run: the one-time setup link's form that creates the first admin. */
export function SetupPage(props: SetupPageProps) {
  const state: FieldState = { values: { email: props.email }, errors: props.errors }
  return (
    <Layout title="Set up · mida-export" bodyClass="narrow">
      <main class="container">
        <article>
          <header>
            <h1>
              Welcome to <span class="nowrap">mida-export</span>
            </h1>
            <p>Create the admin account that manages the analytics export.</p>
          </header>
          <form method="post" action="/setup">
            <input type="hidden" name="token" value={props.token} />
            <TextField
              name="email"
              label="Email"
              type="email"
              autocomplete="username"
              required
              state={state}
            />
            <TextField
              name="password"
              label="Password"
              type="password"
              autocomplete="new-password"
              required
              help="At least 8 characters."
              state={state}
            />
            <TextField
              name="password_confirm"
              label="Repeat the password"
              type="password"
              autocomplete="new-password"
              required
              state={state}
            />
            <button type="submit">Create admin</button>
          </form>
        </article>
      </main>
    </Layout>
  )
}
