/** True for requests htmx makes (fragments are answered, not whole pages). */
export function isHtmx(request: Request): boolean {
  return request.headers.get('hx-request') === 'true'
}

/**
 * The last value of the form field `name` in a parsed body, or undefined when it is missing or
 * not text (a checkbox sends a hidden `false`, then `true` when ticked: the last one counts).
 */
export function formField(body: unknown, name: string): string | undefined {
  if (!body || typeof body !== 'object') return undefined
  const value = (body as Record<string, unknown>)[name]
  const last = Array.isArray(value) ? value.at(-1) : value
  return typeof last === 'string' ? last : undefined
}

/** The rendered string of a JSX element; views here are synchronous. */
function render(element: JSX.Element): string {
  if (typeof element !== 'string') throw new Error('An async view was rendered synchronously')
  return element
}

/** What every page and fragment is served as. */
export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8'

/** An HTML response (a page or an htmx fragment) with the given status. */
export function htmlResponse(
  element: JSX.Element,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  const body = render(element)
  return new Response(body.startsWith('<html') ? `<!doctype html>${body}` : body, {
    status,
    headers: {
      'content-type': HTML_CONTENT_TYPE,
      'cache-control': 'no-store',
      ...headers,
    },
  })
}

/** A 303 redirect (after a form post, or to the login page). */
export function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { location, ...headers } })
}
