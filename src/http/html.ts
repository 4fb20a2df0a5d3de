/** True for requests htmx makes (fragments are answered, not whole pages). */
export function isHtmx(request: Request): boolean {
  return request.headers.get('hx-request') === 'true'
}

/** The rendered string of a JSX element; views here are synchronous. */
export function render(element: JSX.Element): string {
  if (typeof element !== 'string') throw new Error('An async view was rendered synchronously')
  return element
}

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
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
  })
}

/** A 303 redirect (after a form post, or to the login page). */
export function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { location, ...headers } })
}
