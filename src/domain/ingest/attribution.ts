// Order attribution: which visit an order came from, by the session or visitor id the shop
// passed along with it. Shared by the order webhooks and the Shopify CSV import; it only reads
// sessions (src/db/sessions.ts) and writes nothing.
import type { Queries } from '../../db/data.ts'
import { visitorSessionAt } from '../../db/sessions.ts'
import type { Store } from '../stores.ts'

const NAMES = {
  session: new Set(['mida_session', '_mida_session']),
  visitor: new Set(['mida_visitor', '_mida_visitor']),
}

/** Where an order may say which visit it came from. */
export interface OrderAttribution {
  /** Shopify `note_attributes`: `[{ name, value }]`, set from cart attributes. */
  noteAttributes?: { name: string; value: unknown }[] | null
  /** Shopify `landing_site`: the first page of the visit, with its query. */
  landingSite?: string | null
}

/**
 * The session an order belongs to: a `mida_session` id given directly, else the session of the
 * `mida_visitor` that was under way when the order was created (its latest one started by then),
 * from the note attributes first, then the landing site's query. Null when nothing says.
 * `q`: the data layer, or the transaction the order is written in.
 */
export async function sessionForOrder(
  q: Queries,
  store: Store,
  attribution: OrderAttribution,
  createdAt: number,
): Promise<string | null> {
  let sessionId: string | null = null
  let visitorId: string | null = null
  for (const attr of attribution.noteAttributes ?? []) {
    const name = String(attr?.name ?? '')
      .trim()
      .toLowerCase()
    const value = attr?.value == null ? '' : String(attr.value).trim()
    if (!value) continue
    if (NAMES.session.has(name)) sessionId ??= value
    if (NAMES.visitor.has(name)) visitorId ??= value
  }
  if (!sessionId && !visitorId && attribution.landingSite) {
    try {
      const query = new URL(attribution.landingSite, 'http://x').searchParams
      for (const n of NAMES.session) sessionId ??= query.get(n)
      for (const n of NAMES.visitor) visitorId ??= query.get(n)
    } catch {}
  }
  if (sessionId) return sessionId.slice(0, 200)
  if (!visitorId) return null
  // A minute of slack: the shop's clock and ours may disagree a little.
  return visitorSessionAt(q, store.id, visitorId, createdAt + 60_000)
}
