import { type KeyExpiryPayload, keyExpirySubject } from '../../src/domain/keyExpiry.ts'
import { formatStoreTimeWithZone } from '../../src/lib/format.ts'
import { emailHtml, type RenderedEmail } from './document.ts'

/** What a key's expiry warning says, worded; both bodies show exactly this. */
interface KeyExpiryEmailModel {
  subject: string
  headline: string
  facts: [label: string, value: string][]
  closing: string
  settingsUrl: string
}

function keyExpiryEmailModel(p: KeyExpiryPayload, baseUrl: string): KeyExpiryEmailModel {
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

function keyExpiryText(m: KeyExpiryEmailModel): string {
  const width = Math.max(...m.facts.map(([label]) => label.length)) + 2
  return [
    m.headline,
    '',
    ...m.facts.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
    '',
    m.closing,
    '',
    `Settings: ${m.settingsUrl}`,
    '',
    '-- mida-export',
    '',
  ].join('\n')
}

// Inline styles only: mail clients drop <style> blocks and never load the app's CSS.
const LABEL_STYLE = 'text-align:left;padding:4px 16px 4px 0;color:#59636e;font-weight:600'

function KeyExpiryEmail({ model: m }: { model: KeyExpiryEmailModel }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title safe>{m.subject}</title>
      </head>
      <body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2328;margin:0;padding:24px">
        <h1 style="font-size:20px;margin:0 0 12px;color:#9a6700" safe>
          {m.headline}
        </h1>
        <table style="border-collapse:collapse;font-size:14px">
          {m.facts.map(([label, value]) => (
            <tr>
              <th style={LABEL_STYLE} safe>
                {label}
              </th>
              <td style="padding:4px 0" safe>
                {value}
              </td>
            </tr>
          ))}
        </table>
        <p style="font-size:14px" safe>
          {m.closing}
        </p>
        <p style="font-size:14px">
          <a href={m.settingsUrl}>Open the settings page</a>
        </p>
        <p style="font-size:12px;color:#59636e">mida-export</p>
      </body>
    </html>
  )
}

/** The subject and the text and HTML bodies of a key's expiry warning, from its stored payload. */
export function renderKeyExpiry(p: KeyExpiryPayload, baseUrl: string): RenderedEmail {
  const model = keyExpiryEmailModel(p, baseUrl)
  return {
    subject: model.subject,
    text: keyExpiryText(model),
    html: emailHtml(<KeyExpiryEmail model={model} />),
  }
}
