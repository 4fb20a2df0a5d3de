import { z } from 'zod'

/** Parses a time with an offset (ISO 8601, or Shopify's `2026-11-20 10:00:00 -0500`) to epoch ms. */
export function parseInstant(value: string): number | null {
  const text = value.trim()
  const shopify =
    /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) ?([+-]\d{2}):?(\d{2})$/.exec(text)
  const iso = shopify ? `${shopify[1]}T${shopify[2]}${shopify[3]}:${shopify[4]}` : text
  try {
    return Temporal.Instant.from(iso).epochMilliseconds
  } catch {
    return null
  }
}

const INSTANT_HINT = 'must be a time with an offset, like 2026-11-25T14:03:00Z'

// Type first, then parse: a string that is no time gets a message quoting it.
const instant = z
  .union([z.number().int().min(0).max(253402300799999), z.string()], {
    error: (iss) => (iss.input === undefined ? 'is required' : INSTANT_HINT),
  })
  .transform((v, ctx) => {
    if (typeof v === 'number') return v
    const ms = parseInstant(v)
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `${INSTANT_HINT}, got ${JSON.stringify(v)}` })
      return z.NEVER
    }
    return ms
  })
  .describe(
    "A time with an offset (ISO 8601, or Shopify's `2026-11-20 10:00:00 -0500`), or epoch milliseconds.",
  )

const id = z
  .union([z.string().trim().min(1).max(200), z.number().int().nonnegative()], {
    error: (iss) =>
      iss.input === undefined ? 'is required' : 'must be a non-empty string or a whole number',
  })
  // Well-formed: a lone UTF-16 surrogate (valid in JSON) becomes U+FFFD, as SQLite would store
  // it from a bound string, so an id is the same text on every path into the database.
  .transform((v) => String(v).toWellFormed())
  .describe('A non-empty string or a whole number.')

const flag = z.boolean({ error: 'must be true or false' }).default(false)

/** A visitor session, as imported or built by the tracker. Unknown fields are ignored. */
export const sessionInput = z
  .object({
    id,
    visitor_id: id,
    started_at: instant,
    ended_at: instant.optional(),
    pageviews: z.number().int().min(0).max(1_000_000).default(1),
    device: z.enum(['desktop', 'mobile', 'tablet']).default('desktop'),
    source: z.enum(['direct', 'organic', 'paid', 'referral']).default('direct'),
    landing_page: z.string().max(2000).default('/'),
    viewed_product: flag,
    added_to_cart: flag,
    reached_checkout: flag,
  })
  .transform((s, ctx) => {
    const ended = s.ended_at ?? s.started_at
    if (ended < s.started_at) {
      ctx.addIssue({ code: 'custom', path: ['ended_at'], message: 'must not be before started_at' })
      return z.NEVER
    }
    return { ...s, ended_at: ended, landing_page: landingPath(s.landing_page) }
  })

export type SessionRecord = z.output<typeof sessionInput>

/** Reduces a landing URL to its path: `https://shop/x?y` and `/x?y` both become `/x`. */
export function landingPath(value: string): string {
  const text = value.trim().toWellFormed()
  if (!text) return '/'
  try {
    return new URL(text, 'http://x').pathname || '/'
  } catch {
    return text.split(/[?#]/)[0] || '/'
  }
}

/** Parses a money amount (`"12.30"`, `12.3`) to hundredths, exactly, half-up past two decimals. */
export function parseMoneyCents(value: string | number): number | null {
  const text = typeof value === 'number' ? String(value) : value.trim()
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text)
  if (!m) return null
  const whole = Number(m[1])
  const frac = (m[2] ?? '').padEnd(3, '0')
  const cents = whole * 100 + Number(frac.slice(0, 2)) + (Number(frac[2]) >= 5 ? 1 : 0)
  return Number.isSafeInteger(cents) ? cents : null
}

const money = z
  .union([z.string(), z.number().nonnegative()], {
    error: (iss) =>
      iss.input === undefined ? 'is required' : 'must be a non-negative amount like "12.34"',
  })
  .transform((v, ctx) => {
    const cents = parseMoneyCents(v)
    if (cents === null) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a non-negative amount like "12.34", got ${JSON.stringify(v)}`,
      })
      return z.NEVER
    }
    return cents
  })
  .describe('A non-negative amount: a decimal string like "12.34", or a number.')

/** An order, with Shopify's field names. Unknown fields (Shopify sends many) are ignored. */
export const orderInput = z.object({
  id,
  name: z.string().max(200).nullish(),
  created_at: instant,
  total_price: money,
  currency: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{3}$/, 'must be a 3-letter currency code')
    .transform((c) => c.toUpperCase())
    .nullish(),
  financial_status: z.string().trim().toLowerCase().max(50).nullish(),
  cancelled_at: instant.nullish(),
  test: z.boolean({ error: 'must be true or false' }).nullish(),
  session_id: z
    .union([z.string().trim().max(200), z.number().int()])
    .transform(String)
    .nullish(),
})

export type OrderRecord = z.output<typeof orderInput>

/**
 * Formats a zod error as `field: message; field: message`. A field absent from `input` (pass
 * the parsed value: zod does not keep it in its issues) is reported as required.
 */
export function describeIssues(error: z.ZodError, input?: unknown): string {
  return error.issues
    .map((i) => {
      const path = i.path.join('.')
      let message = i.message
      const missing =
        input === undefined
          ? / received undefined$/.test(message)
          : valueAt(input, i.path) === undefined
      if (missing && i.code !== 'custom') message = 'is required'
      return path ? `${path}: ${message}` : message
    })
    .join('; ')
}

function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let v = value
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined
    v = (v as Record<PropertyKey, unknown>)[key]
  }
  return v
}
