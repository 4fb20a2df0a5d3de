import { Elysia } from 'elysia'
import { LogoutPage } from '../../views/pages.tsx'
import { currentSession } from './auth.ts'
import type { AppContext } from './context.ts'
import { htmlResponse, redirect } from './html.ts'

/**
 * Pages a browser may ask for by typing an address: `GET /logout` (logging out itself is the
 * POST, with the CSRF token) shows a Log out button to a logged-in admin, else goes to /login.
 */
export function pageRoutes(ctx: AppContext) {
  return new Elysia({ name: 'pages', seed: ctx }).get('/logout', async ({ cookie }) => {
    const auth = await currentSession(ctx, cookie)
    if (!auth) return redirect('/login')
    return htmlResponse(LogoutPage({ email: auth.admin.email, csrfToken: auth.csrfToken }))
  })
}
