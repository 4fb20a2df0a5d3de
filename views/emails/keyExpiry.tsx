import { type KeyExpiryPayload, keyExpirySubject } from '../../src/domain/keyExpiry.ts'
import { formatStoreTimeWithZone } from '../../src/lib/format.ts'
import type { RenderedEmail } from './document.ts'
import { type FactsEmailModel, renderFactsEmail } from './factsEmail.tsx'

/** What a key's expiry warning says, worded; both bodies show exactly this. */
function keyExpiryEmailModel(p: KeyExpiryPayload, baseUrl: string): Omit<FactsEmailModel, 'color'> {
  const expiresAt = Date.parse(p.expires_at)
  return {
    subject: keyExpirySubject(p.key_name, expiresAt, p.timezone),
    headline: `The API key "${p.key_name}" of ${p.store_name} expires soon.`,
    facts: [
      ['Store', p.store_name],
      ['Key', p.key_name],
      ['Scope', p.scope],
      ['Prefix', `${p.prefix}…`],
      ['Expires', formatStoreTimeWithZone(expiresAt, p.timezone)],
    ],
    closing:
      'From then on, calls with this key get 401. Before that, generate a new key (or regenerate this one) on the settings page and give it to the clients that use this one.',
    settingsUrl: `${baseUrl.replace(/\/+$/, '')}/stores/${p.store_slug}/settings`,
  }
}

/** The subject and the text and HTML bodies of a key's expiry warning, from its stored payload. */
export function renderKeyExpiry(p: KeyExpiryPayload, baseUrl: string): RenderedEmail {
  return renderFactsEmail({ ...keyExpiryEmailModel(p, baseUrl), color: '#9a6700' })
}
