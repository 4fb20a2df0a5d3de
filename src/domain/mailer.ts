import type { Config } from '../config.ts'
import type { Data } from '../db/data.ts'
import { requireSecret, SecretUnavailable } from './secrets.ts'
import { readSettings, type StoreSettings } from './settings.ts'

/** One email to one recipient. */
export interface MailMessage {
  to: string
  subject: string
  text: string
  html: string
  /** Files sent along (the period's CSV, when `notify_attach_csv` asks for it). */
  attachments?: { filename: string; content: string; contentType: string }[]
}

/** What the SMTP server answered when it took a message. */
interface MailReceipt {
  /** The server's final reply, e.g. `250 2.0.0 Ok: queued as 4F2C1`. */
  response: string
  messageId: string
}

/** Sends email; `send` resolves with the server's answer or throws with its refusal. */
export interface Mailer {
  send(message: MailMessage): Promise<MailReceipt>
}

/**
 * The mailer for a store's emails, or null when no SMTP server is configured; called per send,
 * since the settings may change. `settings` (default: the saved ones) lets a test email try
 * unsaved values.
 */
export type MailerResolver = (storeId: number, settings?: StoreSettings) => Promise<Mailer | null>

type SmtpSecurity = 'starttls' | 'tls' | 'none'

/** A resolved SMTP server, from `MIDA_SMTP_URL` or from the saved settings. */
export interface SmtpTarget {
  source: 'env' | 'settings'
  host: string
  port: number
  security: SmtpSecurity
  user: string
  password: string
  from: string
  /** `MIDA_SMTP_URL` as given (it may carry credentials: never shown). */
  url?: string
}

/** A send that takes longer than this is abandoned and retried later. */
const SEND_TIMEOUT_MS = 60_000

const DEFAULT_PORTS: Record<SmtpSecurity, number> = { starttls: 587, tls: 465, none: 25 }

/** Where mail goes: `MIDA_SMTP_URL` wins over the SMTP settings saved in the UI. */
export function smtpTarget(config: Config, settings: StoreSettings): SmtpTarget | null {
  if (config.smtpUrl) {
    const u = new URL(config.smtpUrl)
    const security: SmtpSecurity = u.protocol === 'smtps:' ? 'tls' : 'starttls'
    return {
      source: 'env',
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : DEFAULT_PORTS[security],
      security,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      from: config.mailFrom,
      url: config.smtpUrl,
    }
  }
  const host = settings.smtp_host.trim()
  if (!host) return null
  const security = settings.smtp_security
  return {
    source: 'settings',
    host,
    port: settings.smtp_port === '' ? DEFAULT_PORTS[security] : settings.smtp_port,
    security,
    user: settings.smtp_user,
    password: settings.smtp_password,
    from: settings.smtp_from || config.mailFrom,
  }
}

/** `smtp.example.com:587 (STARTTLS)`: the target without its credentials, for the page. */
export function describeSmtpTarget(target: SmtpTarget): string {
  const security = { starttls: 'STARTTLS', tls: 'TLS', none: 'no encryption' }[target.security]
  const auth = target.user ? `, as ${target.user}` : ''
  return `${target.host}:${target.port} (${security}${auth})`
}

/**
 * True when two targets are the same server and login: host (any case), port, security and
 * user. The saved SMTP password goes only to the target it was saved with.
 */
export function sameSmtpServer(a: SmtpTarget, b: SmtpTarget): boolean {
  const host = (h: string) => h.trim().toLowerCase()
  return (
    host(a.host) === host(b.host) &&
    a.port === b.port &&
    a.security === b.security &&
    a.user === b.user
  )
}

/** The field error of a Save that would carry the saved SMTP password to another server. */
export const RETYPE_SMTP_PASSWORD =
  'type the password again: the saved password only goes to the SMTP server and user it was saved with'

/**
 * True when saving `after` over `before` keeps the saved SMTP password (its field left empty)
 * for another host, port, security or user: the next email would hand it to that server.
 */
export function savedPasswordMoves(before: StoreSettings, after: StoreSettings): boolean {
  if (before.smtp_password === '' || after.smtp_password !== before.smtp_password) return false
  if (after.smtp_user === '' || after.smtp_host.trim() === '') return false // no login, no password
  const server = (s: StoreSettings) =>
    [
      s.smtp_host.trim().toLowerCase(),
      s.smtp_port === '' ? DEFAULT_PORTS[s.smtp_security] : s.smtp_port,
      s.smtp_security,
      s.smtp_user,
    ].join('\n')
  return server(before) !== server(after)
}

/** A Mailer over nodemailer's SMTP transport, one connection per message. */
export function smtpMailer(target: SmtpTarget): Mailer {
  const timeouts = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 }
  return {
    async send(message) {
      // Without a user name no login happens, so the password is not needed.
      if (target.user) requireSecret(target.password, 'The SMTP password')
      // Loaded on first use: nodemailer is a fifth of an idle server's memory.
      const { createTransport } = await import('nodemailer')
      const transport = target.url
        ? createTransport({ url: target.url, ...timeouts })
        : createTransport({
            host: target.host,
            port: target.port,
            secure: target.security === 'tls',
            requireTLS: target.security === 'starttls',
            ignoreTLS: target.security === 'none',
            auth: target.user ? { user: target.user, pass: target.password } : undefined,
            ...timeouts,
          })
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              Object.assign(
                new Error(`SMTP server did not answer within ${SEND_TIMEOUT_MS / 1000} s`),
                { code: 'ETIMEDOUT' },
              ),
            ),
          SEND_TIMEOUT_MS,
        )
      })
      try {
        const info = await Promise.race([
          transport.sendMail({ from: target.from, ...message }),
          timeout,
        ])
        if (info.rejected.length > 0) {
          throw Object.assign(
            new Error(`SMTP server refused ${info.rejected.join(', ')}: ${info.response}`),
            { code: 'EENVELOPE', responseCode: replyCode(info.response) },
          )
        }
        return { response: info.response, messageId: info.messageId }
      } catch (err) {
        throw SmtpError.from(err)
      } finally {
        clearTimeout(timer)
        transport.close()
      }
    },
  }
}

/** The three-digit code that starts an SMTP reply, if any. */
function replyCode(response: unknown): number | undefined {
  const match = typeof response === 'string' ? /^([2-5]\d\d)\b/.exec(response.trim()) : null
  return match ? Number(match[1]) : undefined
}

/**
 * A failed send. The message is the full reason with the server's reply (for the outbox of the
 * saved server); `code`, `originalCode` and `responseCode` say what kind of failure it was.
 */
class SmtpError extends Error {
  constructor(
    message: string,
    /** nodemailer's kind: ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EAUTH, EENVELOPE … */
    readonly code: string | undefined,
    /** The system or TLS error under an ESOCKET, e.g. ECONNREFUSED, CERT_HAS_EXPIRED. */
    readonly originalCode: string | undefined,
    readonly responseCode: number | undefined,
    override readonly cause?: unknown,
  ) {
    super(message)
  }

  static from(err: unknown): SmtpError {
    if (err instanceof SmtpError) return err
    const e = (err ?? {}) as { code?: unknown; originalCode?: unknown; responseCode?: unknown }
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined)
    return new SmtpError(
      smtpErrorMessage(err),
      text(e.code),
      text(e.originalCode),
      typeof e.responseCode === 'number' ? e.responseCode : undefined,
      err,
    )
  }
}

/** System errors of a connection that never got going (under nodemailer's ESOCKET), in words. */
const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ECONNABORTED: 'the connection was aborted',
  EPIPE: 'the connection was closed',
  ETIMEDOUT: 'no answer in time',
  EHOSTUNREACH: 'the host cannot be reached',
  EHOSTDOWN: 'the host cannot be reached',
  ENETUNREACH: 'the host cannot be reached',
  ENETDOWN: 'the host cannot be reached',
  EADDRNOTAVAIL: 'the address cannot be used',
  ENOTFOUND: 'the host name was not found',
  EAI_AGAIN: 'the host name was not found',
}

/**
 * What a failed test email tells the admin: what to act on, with host:port named, and never the
 * peer's own words (banner, replies, TLS alerts): the button must not become a way to read what
 * any host or internal port answers.
 */
export function testEmailFailure(err: unknown, target: SmtpTarget): string {
  if (err instanceof SecretUnavailable) return err.message
  const e = SmtpError.from(err)
  const at = `${target.host}:${target.port}`
  const tlsHint =
    target.security === 'tls'
      ? 'check that the port expects TLS from the first byte (465), or choose STARTTLS'
      : 'check the port and the security setting'
  switch (e.code) {
    case 'EDNS':
      return `could not connect to ${at}: the host name was not found.`
    case 'ETIMEDOUT':
      return `could not connect to ${at}: no SMTP answer in time.`
    case 'ECONNECTION':
      return `could not connect to ${at}: the connection was closed.`
    case 'ETLS':
    case 'EREQUIRETLS':
      return `TLS failed with ${at}: ${tlsHint}.`
    case 'EAUTH':
    case 'ENOAUTH':
      return `login refused by ${at}: check the user name and password.`
    case 'ESOCKET':
      if (e.originalCode && Object.hasOwn(CONNECT_ERRORS, e.originalCode)) {
        return `could not connect to ${at}: ${CONNECT_ERRORS[e.originalCode]}.`
      }
      // Everything else on the socket before any SMTP is TLS: a handshake or a certificate.
      return `TLS failed with ${at}${e.originalCode ? ` (${e.originalCode})` : ''}: ${tlsHint}.`
    case 'EPROTOCOL':
      return `${at} did not answer like an SMTP server: check the host and port.`
  }
  if (e.responseCode === 530) {
    return `login refused by ${at}: the server requires a user name and password.`
  }
  if (e.responseCode !== undefined) {
    return `${at} refused the message (SMTP reply ${e.responseCode}): check the sender and recipient addresses.`
  }
  return `could not send through ${at}${e.code ? ` (${e.code})` : ''}.`
}

/** A one-line reason from a nodemailer error: the server's reply when there is one. */
function smtpErrorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const e = err as Error & { code?: string }
  const message = e.message.replace(/\s+/g, ' ').trim()
  return e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message
}

/** The mailer the server uses by default: MIDA_SMTP_URL, else the store's saved SMTP settings. */
export function configuredMailer(config: Config, data: Data): MailerResolver {
  return async (storeId, settings) => {
    const target = smtpTarget(config, settings ?? (await readSettings(data, { id: storeId })))
    return target ? smtpMailer(target) : null
  }
}
