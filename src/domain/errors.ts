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
