import { SMTPServer } from 'smtp-server'

/** A message as the test SMTP server received it. */
interface ReceivedMail {
  /** Envelope sender and recipients. */
  from: string
  to: string[]
  /** Header names in lower case, folded lines joined. */
  headers: Record<string, string>
  subject: string
  raw: string
}

export interface SmtpSink {
  port: number
  /** Every accepted message, in order. */
  messages: ReceivedMail[]
  /** How many connections were opened to it. */
  connections: () => number
  /** Every AUTH attempt, with the password as received. */
  logins: { user: string; pass: string }[]
  /** Refuses every recipient with this reply (`451 …` style) until called with null. */
  refuse(reply: { code: number; message: string } | null): void
  /** Answers every stalled DATA (stallData) with this error reply (`451 …` style). */
  answerStalled(reply: { code: number; message: string }): void
  /** Resolves once `count` messages have arrived (bounded wait). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>
  stop(): Promise<void>
}

/** Parses the header block of a raw message, minimally (enough for subject and recipients). */
function parseHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? ''
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ')
  const headers: Record<string, string> = {}
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return headers
}

/** A real SMTP server (the `smtp-server` package) on 127.0.0.1, no TLS, no auth unless asked. */
export async function startSmtpSink(
  options: {
    port?: number
    auth?: { user: string; pass: string }
    /** Awaited after a message is recorded and before it is acknowledged (a slow server). */
    holdReply?: () => Promise<void>
    /**
     * Asked as each message's DATA begins: true stalls that message (its content is read and
     * dropped, not recorded, and unanswered until `answerStalled`), so its sender stays mid-send.
     */
    stallData?: () => boolean
    /** Text added to the 220 greeting. */
    banner?: string
    /** The loopback address to listen on (default 127.0.0.1). */
    host?: string
  } = {},
): Promise<SmtpSink> {
  const messages: ReceivedMail[] = []
  const logins: { user: string; pass: string }[] = []
  let connections = 0
  let refusal: { code: number; message: string } | null = null
  const stalled: ((err: Error) => void)[] = []
  const server = new SMTPServer({
    authOptional: !options.auth,
    disabledCommands: options.auth ? [] : ['AUTH'],
    hideSTARTTLS: true,
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 500,
    ...(options.banner === undefined ? {} : { banner: options.banner }),
    onConnect(_session, callback) {
      connections++
      callback()
    },
    onAuth(auth, _session, callback) {
      logins.push({ user: auth.username ?? '', pass: auth.password ?? '' })
      if (auth.username === options.auth?.user && auth.password === options.auth?.pass) {
        callback(null, { user: auth.username })
      } else {
        callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }))
      }
    },
    onRcptTo(_address, _session, callback) {
      if (refusal) {
        callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }))
      } else callback()
    },
    onData(stream, session, callback) {
      if (options.stallData?.()) {
        stream.resume()
        stream.on('end', () => stalled.push(callback))
        return
      }
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const headers = parseHeaders(raw)
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          headers,
          subject: headers.subject ?? '',
          raw,
        })
        if (options.holdReply) void options.holdReply().then(() => callback())
        else callback()
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.server.address()
  if (!address || typeof address === 'string') throw new Error('SMTP sink did not start')
  return {
    port: address.port,
    messages,
    connections: () => connections,
    logins,
    refuse(reply) {
      refusal = reply
    },
    answerStalled(reply) {
      for (const callback of stalled.splice(0)) {
        callback(Object.assign(new Error(reply.message), { responseCode: reply.code }))
      }
    },
    async waitFor(count, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs
      while (messages.length < count) {
        if (Date.now() > until) {
          throw new Error(`expected ${count} messages, got ${messages.length}`)
        }
        await Bun.sleep(5)
      }
      return messages
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
