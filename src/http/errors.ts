import { escapeHTML } from 'bun'
import { Elysia } from 'elysia'
import { AppError, TooManyRequests } from '../domain/errors.ts'
import { json } from './context.ts'

/** The API's error body. */
export function errorBody(error: string) {
  return { success: false, error }
}

/** Maps a thrown error to the API's JSON shape; never leaks a stack trace to the client. */
export function errorResponse(error: unknown): Response {
  if (error instanceof AppError) {
    const headers: Record<string, string> =
      error instanceof TooManyRequests ? { 'retry-after': String(error.retryAfterSeconds) } : {}
    return json(errorBody(error.message), error.status, headers)
  }
  console.error(error)
  return json(errorBody('Internal server error'), 500)
}

/** An error as an HTML fragment, for htmx to swap in where the answer was expected. */
function htmxErrorResponse(code: unknown, error: unknown): Response {
  let status = 500
  let message = 'Something went wrong. Reload the page and try again.'
  if (error instanceof AppError) {
    status = error.status
    message = error.message
  } else if (code === 'NOT_FOUND') {
    status = 404
    message = 'Not found'
  } else {
    console.error(error)
  }
  return new Response(`<p class="error" role="alert">${escapeHTML(message)}</p>`, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  })
}

/** One onError for the whole app: typed errors, Elysia's own (404, parse, validation), the rest. */
export const errorHandler = new Elysia({ name: 'errors' }).onError(
  { as: 'global' },
  ({ code, error, request }) => {
    if (request.headers.get('hx-request') === 'true') return htmxErrorResponse(code, error)
    if (error instanceof AppError) return errorResponse(error)
    switch (code) {
      case 'NOT_FOUND':
        return json(errorBody('Not found'), 404)
      case 'PARSE':
        return json(errorBody('Body is not valid'), 400)
      case 'VALIDATION':
        return json(errorBody('Request is not valid'), 400)
      case 'INVALID_COOKIE_SIGNATURE':
        return json(errorBody('Invalid cookie'), 400)
      default:
        return errorResponse(error)
    }
  },
)
