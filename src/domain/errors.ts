/** An error whose message is safe to show to the client, with the HTTP status it maps to. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** The input is malformed or names something that does not exist in its field (400). */
export class InvalidInput extends AppError {
  constructor(message: string) {
    super(400, message)
  }
}

/** No valid credentials (401). */
export class Unauthorized extends AppError {
  constructor(message = 'Invalid API key') {
    super(401, message)
  }
}

/** Valid credentials, but the action is switched off or not allowed (403). */
export class Forbidden extends AppError {
  constructor(message: string) {
    super(403, message)
  }
}

/** The thing asked for does not exist (404). */
export class NotFound extends AppError {
  constructor(message: string) {
    super(404, message)
  }
}

/** The request contradicts stored state (409). */
export class Conflict extends AppError {
  constructor(message: string) {
    super(409, message)
  }
}

/** Too many attempts; retry after the given number of seconds (429). */
export class TooManyRequests extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'Too many failed attempts, try again later',
  ) {
    super(429, message)
  }
}

/** The request body is larger than the route accepts (413); the message names the limit. */
export class PayloadTooLarge extends AppError {
  constructor(readonly limitBytes: number) {
    super(413, `Body is too large: at most ${formatBytes(limitBytes)}`)
  }
}

/** `16 KB`, `1 MB`, `1 GB`: a limit as people write it (powers of 1024). */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`
  }
  return `${bytes} bytes`
}
