import { escapeHTML } from 'bun'
import { Elysia } from 'elysia'
import { MessagePage } from '../../views/pages.tsx'
import { isBusy } from '../db/database.ts'
import { AppError, TooManyRequests } from '../domain/errors.ts'
import { json } from './context.ts'
import { htmlResponse } from './html.ts'

/** The API's error body. */
export function errorBody(error: string) {
  return { success: false, error }
}

/** Seconds a client is asked to wait when the database is locked by another process. */
const BUSY_RETRY_SECONDS = 5

/** The error of a 503: the database is locked by another process (SQLite). */
export const BUSY_MESSAGE =
  'The database is busy with another process writing (an import?); try again'

/** Maps a thrown error to the API's JSON shape; never leaks a stack trace to the client. */
export function errorResponse(error: unknown): Response {
  if (error instanceof AppError) {
    const headers: Record<string, string> =
      error instanceof TooManyRequests ? { 'retry-after': String(error.retryAfterSeconds) } : {}
    return json(errorBody(error.message), error.status, headers)
  }
  if (isBusy(error)) {
    return json(errorBody(BUSY_MESSAGE), 503, { 'retry-after': String(BUSY_RETRY_SECONDS) })
  }
  console.error(error)
  return json(errorBody('Internal server error'), 500)
}

/**
 * Elysia's own errors that are the client's fault: an unknown route, a body its parser refused
 * (malformed JSON, form data that does not match its Content-Type), a bad cookie signature.
 */
function clientFault(code: unknown, error: unknown): { status: number; message: string } | null {
  if (code === 'NOT_FOUND') return { status: 404, message: 'Not found' }
  // Bun's formData() throws this TypeError for a body that does not match its multipart type.
  const bunCode = (error as { code?: unknown } | null)?.code
  if (code === 'PARSE' || bunCode === 'ERR_FORMDATA_PARSE_ERROR') {
    return { status: 400, message: 'Body is not valid' }
  }
  if (code === 'VALIDATION') return { status: 400, message: 'Request is not valid' }
  if (code === 'INVALID_COOKIE_SIGNATURE') return { status: 400, message: 'Invalid cookie' }
  return null
}

/** The status and the message an error is shown with on a page or in a fragment. */
function shownError(code: unknown, error: unknown): { status: number; message: string } {
  const fault = clientFault(code, error)
  if (error instanceof AppError) return { status: error.status, message: error.message }
  if (isBusy(error)) return { status: 503, message: BUSY_MESSAGE }
  if (fault) return fault
  console.error(error)
  return { status: 500, message: 'Something went wrong. Reload the page and try again.' }
}

/** An error as an HTML fragment, for htmx to swap in where the answer was expected. */
function htmxErrorResponse(code: unknown, error: unknown): Response {
  const { status, message } = shownError(code, error)
  return new Response(`<p class="error" role="alert">${escapeHTML(message)}</p>`, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  })
}

/** True for a request to the API (`/apiv1/…`): its errors are always the JSON shape. */
function isApi(request: Request): boolean {
  return new URL(request.url).pathname.startsWith('/apiv1/')
}

/** An error as a whole page with a way back, for a browser that asked for a page. */
function pageErrorResponse(code: unknown, error: unknown): Response {
  const { status, message } = shownError(code, error)
  const page =
    status === 404
      ? { title: 'Page not found', message: 'There is no page at this address.' }
      : { title: status >= 500 ? 'Something went wrong' : 'Request refused', message }
  const headers: Record<string, string> =
    error instanceof TooManyRequests ? { 'retry-after': String(error.retryAfterSeconds) } : {}
  if (isBusy(error)) headers['retry-after'] = String(BUSY_RETRY_SECONDS)
  return htmlResponse(MessagePage(page), status, headers)
}

/**
 * One onError for the whole app: typed errors, Elysia's own (404, parse, validation), the rest.
 * Handlers throw; the API answers its JSON shape, htmx a fragment, a browser asking for a page
 * (its `Accept` names `text/html`) an error page, other clients the JSON shape.
 */
export const errorHandler = new Elysia({ name: 'errors' }).onError(
  { as: 'global' },
  ({ code, error, request }) => {
    if (!isApi(request)) {
      if (request.headers.get('hx-request') === 'true') return htmxErrorResponse(code, error)
      if (request.headers.get('accept')?.includes('text/html'))
        return pageErrorResponse(code, error)
    }
    if (error instanceof AppError) return errorResponse(error)
    const fault = clientFault(code, error)
    return fault ? json(errorBody(fault.message), fault.status) : errorResponse(error)
  },
)
