import { LoginFields } from './login.tsx'

export interface ReloginDialogProps {
  /** The pre-login CSRF token (also in the login form's cookie). */
  csrfToken: string
  email?: string
  error?: string
}

/**
 * The login form as a dialog over the settings page, for a request that found the session
 * ended: logging in here (htmx) sets the new session cookie without leaving the page, so
 * unsaved edits stay where they are. app.js opens it, and on success takes the new CSRF token
 * and retries the refused Save.
 */
export function ReloginDialog(props: ReloginDialogProps) {
  return (
    <dialog id="relogin-dialog" aria-labelledby="relogin-title" aria-describedby="relogin-intro">
      <article>
        <h2 id="relogin-title">Your session has ended</h2>
        <p id="relogin-intro">
          Log in again to go on: nothing on this page is lost, and an unsaved change is saved once
          you are back.
        </p>
        {props.error ? (
          <p class="error" role="alert" id="relogin-error" safe>
            {props.error}
          </p>
        ) : (
          ''
        )}
        <form hx-post="/login" hx-target="#relogin" hx-swap="innerHTML">
          <input type="hidden" name="_csrf" value={props.csrfToken} />
          <LoginFields idPrefix="relogin" email={props.email} error={props.error} />
          <button type="submit">Log in</button>
        </form>
      </article>
    </dialog>
  )
}
