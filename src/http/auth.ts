import { type Cookie, Elysia } from 'elysia'
import { LoginPage } from '../../views/login.tsx'
import { MessagePage } from '../../views/pages.tsx'
import { ReloginDialog, type ReloginDialogProps } from '../../views/relogin.tsx'
import { SetupPage } from '../../views/setup.tsx'
import {
  AdminInputError,
  type AdminSession,
  countAdmins,
  createFirstAdmin,
  endSession,
  findSession,
  SESSION_IDLE_MS,
  sameSecret,
  setupTokenProblem,
  startSession,
  validateCredentials,
  verifyLogin,
} from '../domain/admins.ts'
import { type AuditActor, recordAudit, recordRepeatedAudit } from '../domain/audit.ts'
import { AppError, TooManyRequests } from '../domain/errors.ts'
import { randomBase62 } from '../lib/random.ts'
import { type AppContext, clientAddress } from './context.ts'
import { formField, htmlResponse, isHtmx, redirect } from './html.ts'
import { type StoreScope, storeScope } from './storeScope.ts'

/** The login session cookie. */
const SESSION_COOKIE = 'mida_session'
/** The header htmx sends the CSRF token in (from `hx-headers:inherited` on `<body>`). */
const CSRF_HEADER = 'x-csrf-token'
/** The hidden form field plain form posts send the CSRF token in. */
const CSRF_FIELD = '_csrf'
/** The pre-login CSRF cookie of the login form (double submit: cookie and field must match). */
const LOGIN_CSRF_COOKIE = 'mida_login_csrf'

/** What an admin route gets from the guard. */
export interface AdminAuth extends AdminSession {
  /** The session cookie's token (to end the session at logout). */
  sessionToken: string
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The way back from a setup link that no longer works. */
const TO_LOGIN = { href: '/login', label: 'Go to the login page' }

/** A request's cookies, as Elysia parsed them (the handler's `cookie`). */
type Cookies = Record<string, Cookie<unknown>>

/**
 * One cookie's text, or null: missing, empty, not valid percent-encoding, or a value Elysia
 * read as JSON (`{…}`, `[…]`), which no cookie of ours holds.
 */
function cookieText(cookie: Cookies, name: string): string | null {
  const value = cookie[name]?.value
  return typeof value === 'string' && value !== '' ? value : null
}

/**
 * A Set-Cookie value: HttpOnly, SameSite=Lax, and Secure when the public URL is https. Built
 * here rather than through Elysia's `cookie.set`: its serializer puts Max-Age first, and the
 * attribute order (Path, HttpOnly, SameSite, Max-Age, Secure) is part of the tested contract.
 */
function cookieHeader(
  ctx: AppContext,
  name: string,
  value: string,
  options: { maxAgeSeconds?: number; path?: string } = {},
): string {
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path ?? '/'}`,
    'HttpOnly',
    'SameSite=Lax',
  ]
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`)
  if (ctx.config.baseUrl.startsWith('https:')) parts.push('Secure')
  return parts.join('; ')
}

/** The admin session a request carries, or null. */
export async function currentSession(ctx: AppContext, cookie: Cookies): Promise<AdminAuth | null> {
  const token = cookieText(cookie, SESSION_COOKIE)
  if (!token) return null
  const session = await findSession(ctx.data, token, ctx.clock)
  return session ? { ...session, sessionToken: token } : null
}

/** The CSRF token a state-changing request presents: the header, else the form field. */
function presentedCsrfToken(request: Request, body: unknown): string | null {
  const header = request.headers.get(CSRF_HEADER)
  if (header) return header
  return formField(body, CSRF_FIELD) ?? null
}

/** Where `safeNext` resolves a path to check that it stays on this server. */
const SAME_ORIGIN = 'http://mida-export.invalid'

/**
 * A same-site path to return to after login, normalised and percent-encoded as the browser
 * would resolve it (a tab or newline in `/\t/evil.example` is dropped, making it `//evil…`);
 * anything that leaves this server becomes `/settings`.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/')) return '/settings'
  try {
    const url = new URL(next, SAME_ORIGIN)
    if (url.origin !== SAME_ORIGIN) return '/settings'
    return url.pathname + url.search + url.hash
  } catch {
    return '/settings'
  }
}

function pathOf(request: Request): string {
  const url = new URL(request.url)
  return url.pathname + url.search
}

/**
 * The re-login dialog for an htmx request (a 401 for a refused request, or the answer to a
 * failed login in it), with a fresh pre-login CSRF cookie. It lands in the page's `#relogin`
 * whatever the request targeted, so the page and its unsaved edits stay.
 */
function reloginAnswer(
  ctx: AppContext,
  status: number,
  props: Omit<ReloginDialogProps, 'csrfToken'> = {},
  headers: Record<string, string> = {},
): Response {
  const csrf = randomBase62(32)
  return htmlResponse(ReloginDialog({ ...props, csrfToken: csrf }), status, {
    'set-cookie': cookieHeader(ctx, LOGIN_CSRF_COOKIE, csrf, { path: '/login' }),
    'hx-retarget': '#relogin',
    'hx-reswap': 'innerHTML',
    ...headers,
  })
}

/**
 * The answer to a request without a valid session: the login page for pages, the re-login
 * dialog for htmx (the page keeps what was typed), 401 otherwise.
 */
function refuseAnonymous(ctx: AppContext, request: Request): Response {
  const login = `/login?next=${encodeURIComponent(pathOf(request))}`
  if (isHtmx(request)) return reloginAnswer(ctx, 401)
  if (request.method === 'GET' || request.method === 'HEAD') return redirect(login)
  return htmlResponse('<p>Log in first: this page needs an admin session.</p>', 401)
}

/** The answer to a state-changing request whose CSRF token is missing or wrong. */
function refuseCsrf(): Response {
  return htmlResponse(
    '<p class="error" role="alert">This form has expired. Reload the page and try again.</p>',
    403,
  )
}

/** The admin session of a request, or the refusal to answer (login, 401, or 403 for CSRF). */
async function checkAdmin(
  ctx: AppContext,
  request: Request,
  body: unknown,
  cookie: Cookies,
): Promise<AdminAuth | { refusal: Response; status: 401 | 403 }> {
  const auth = await currentSession(ctx, cookie)
  if (!auth) return { refusal: refuseAnonymous(ctx, request), status: 401 }
  if (!SAFE_METHODS.has(request.method)) {
    const presented = presentedCsrfToken(request, body)
    if (!presented || !sameSecret(presented, auth.csrfToken)) {
      return { refusal: refuseCsrf(), status: 403 }
    }
  }
  return auth
}

/** Who did a store's action, for the audit log: the admin, the store and the client's address. */
export function storeActor(
  ctx: AppContext,
  auth: AdminAuth,
  scope: StoreScope,
  request: Request,
  server: Parameters<typeof clientAddress>[2],
): AuditActor {
  return {
    storeId: scope.store.id,
    actor: auth.admin.email,
    address: clientAddress(ctx, request, server),
  }
}

/**
 * The admin guard. `.use(adminAuth(ctx))` adds two macros. `admin`: a route (or a `.guard({
 * admin: true })` over all of a plugin's routes) then requires a logged-in admin, and for POST,
 * PUT, PATCH and DELETE also the session's CSRF token (header `X-CSRF-Token`, or form field
 * `_csrf`); the handler receives `auth: AdminAuth`. Anonymous page requests are redirected to
 * /login, htmx and other requests get 401; a bad CSRF token gets 403. `store`: the same, and the
 * route acts on one store, `scope: StoreScope` (the `:slug` of `/stores/:slug/…`, or the admin's
 * first store on the paths without one); a store the admin may not see is 404, as one that does
 * not exist.
 */
export function adminAuth(ctx: AppContext) {
  return new Elysia({ name: 'admin-auth', seed: ctx }).macro({
    admin: {
      async resolve({ request, body, cookie, status, set }) {
        const auth = await checkAdmin(ctx, request, body, cookie)
        if ('refusal' in auth) return status(auth.status, auth.refusal)
        set.headers['cache-control'] = 'no-store'
        return { auth }
      },
    },
    store: {
      async resolve({ request, body, cookie, status, set, params }) {
        const auth = await checkAdmin(ctx, request, body, cookie)
        if ('refusal' in auth) return status(auth.status, auth.refusal)
        set.headers['cache-control'] = 'no-store'
        const slug = (params as Record<string, string | undefined> | undefined)?.slug
        return { auth, scope: await storeScope(ctx, auth.admin, slug) }
      },
    },
  })
}

/** `/login`, `/logout`, `/setup`, and `/` (which leads to the settings page). */
export function authRoutes(ctx: AppContext) {
  const { data, clock } = ctx
  // MIDA_LOGIN_ATTEMPTS wrong passwords per address (5 in 15 minutes), then it waits out the window.
  const loginThrottle = ctx.loginThrottle
  // Logins, logouts and the first admin belong to no store: admins of every store see them.
  const storeId = null

  const sessionCookie = (token: string) =>
    cookieHeader(ctx, SESSION_COOKIE, token, { maxAgeSeconds: Math.floor(SESSION_IDLE_MS / 1000) })

  const loginPage = async (
    status: number,
    props: { email?: string; next: string; error?: string; loggedOut?: boolean },
    headers: Record<string, string> = {},
  ) => {
    const csrf = randomBase62(32)
    const noAdmin = (await countAdmins(data)) === 0
    return htmlResponse(LoginPage({ ...props, csrfToken: csrf, noAdmin }), status, {
      'set-cookie': cookieHeader(ctx, LOGIN_CSRF_COOKIE, csrf, { path: '/login' }),
      ...headers,
    })
  }

  return new Elysia({ name: 'auth', seed: ctx })
    .use(adminAuth(ctx))
    .get('/', async ({ cookie }) =>
      redirect((await currentSession(ctx, cookie)) ? '/settings' : '/login'),
    )
    .get('/login', async ({ cookie, query }) => {
      const next = safeNext(query.next)
      if (await currentSession(ctx, cookie)) return redirect(next)
      return loginPage(200, { next, loggedOut: query.logged_out === '1' })
    })
    .post('/login', async ({ request, body, cookie, server }) => {
      // The re-login dialog (htmx) gets the dialog back, the login page the page.
      const loginForm = isHtmx(request)
        ? async (status: number, props: { email?: string; error?: string }, headers = {}) =>
            reloginAnswer(ctx, status, { email: props.email, error: props.error }, headers)
        : loginPage
      const address = clientAddress(ctx, request, server)
      const email = (formField(body, 'email') ?? '').trim()
      const next = safeNext(formField(body, 'next') ?? '')
      const cookieCsrf = cookieText(cookie, LOGIN_CSRF_COOKIE)
      const formCsrf = formField(body, CSRF_FIELD) ?? ''
      if (!cookieCsrf || !formCsrf || !sameSecret(cookieCsrf, formCsrf)) {
        return loginForm(403, { email, next, error: 'The login form expired. Please try again.' })
      }
      try {
        // Counted before the password is checked (which awaits), so concurrent attempts cannot
        // all pass the check; a success forgets the address.
        await loginThrottle.take(address)
      } catch (err) {
        if (!(err instanceof TooManyRequests)) throw err
        await recordRepeatedAudit(
          data,
          { storeId, actor: email, address, action: 'login.throttled' },
          ctx.config.loginAttempts.windowMs,
          clock,
        )
        const minutes = Math.ceil(err.retryAfterSeconds / 60)
        return loginForm(
          429,
          {
            email,
            next,
            error: `Too many failed logins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
          },
          { 'retry-after': String(err.retryAfterSeconds) },
        )
      }
      const admin = await verifyLogin(data, email, formField(body, 'password') ?? '')
      if (!admin) {
        await recordAudit(data, { storeId, actor: email, address, action: 'login.failed' }, clock)
        return loginForm(401, { email, next, error: 'Wrong email or password.' })
      }
      await loginThrottle.succeed(address)
      const by = { storeId, actor: admin.email, address }
      const session = await startSession(data, admin.id, clock, by)
      const response = isHtmx(request)
        ? // Back on the page it came from: the dialog closes, the page takes the new CSRF token.
          htmlResponse('', 200, {
            'hx-trigger': JSON.stringify({
              'session-renewed': { target: 'body', csrfToken: session.csrfToken },
            }),
          })
        : redirect(next)
      response.headers.append('set-cookie', sessionCookie(session.token))
      response.headers.append(
        'set-cookie',
        cookieHeader(ctx, LOGIN_CSRF_COOKIE, '', { path: '/login', maxAgeSeconds: 0 }),
      )
      return response
    })
    .post(
      '/logout',
      async ({ auth, request, server }) => {
        const address = clientAddress(ctx, request, server)
        const by = { storeId, actor: auth.admin.email, address }
        await endSession(data, auth.sessionToken, clock, by)
        return redirect('/login?logged_out=1', {
          'set-cookie': cookieHeader(ctx, SESSION_COOKIE, '', { maxAgeSeconds: 0 }),
        })
      },
      { admin: true },
    )
    .get('/setup', async ({ query }) => {
      const token = typeof query.token === 'string' ? query.token : ''
      const problem = await setupTokenProblem(data, token, clock)
      if (problem) {
        return htmlResponse(
          MessagePage({ title: 'Set up mida-export', message: problem, back: TO_LOGIN }),
          410,
        )
      }
      return htmlResponse(SetupPage({ token, email: '', errors: {} }))
    })
    .post('/setup', async ({ body, request, server }) => {
      const token = formField(body, 'token') ?? ''
      const email = (formField(body, 'email') ?? '').trim()
      const password = formField(body, 'password') ?? ''
      const problem = await setupTokenProblem(data, token, clock)
      if (problem) {
        return htmlResponse(
          MessagePage({ title: 'Set up mida-export', message: problem, back: TO_LOGIN }),
          410,
        )
      }
      if (password !== (formField(body, 'password_confirm') ?? '')) {
        // Both problems at once: a short password is named too, not only the mismatch.
        const errors: Record<string, string> = { password_confirm: 'does not match the password' }
        try {
          validateCredentials(email, password)
        } catch (err) {
          if (!(err instanceof AdminInputError)) throw err
          Object.assign(errors, err.fields)
        }
        return htmlResponse(SetupPage({ token, email, errors }), 422)
      }
      try {
        const address = clientAddress(ctx, request, server)
        const admin = await createFirstAdmin(data, token, email, password, clock, {
          storeId,
          address,
        })
        const session = await startSession(data, admin.id, clock)
        return redirect('/settings', { 'set-cookie': sessionCookie(session.token) })
      } catch (err) {
        if (err instanceof AdminInputError) {
          return htmlResponse(SetupPage({ token, email, errors: err.fields }), 422)
        }
        if (err instanceof AppError) {
          return htmlResponse(
            MessagePage({ title: 'Set up mida-export', message: err.message, back: TO_LOGIN }),
            err.status,
          )
        }
        throw err
      }
    })
}
