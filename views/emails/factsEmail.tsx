import { emailHtml, type RenderedEmail } from './document.ts'

/**
 * An email that states facts: a headline, labelled lines, a closing sentence and the link to the
 * store's settings page. The sync notification and the key expiry warning are such emails; both
 * bodies, text and HTML, show exactly the model.
 */
export interface FactsEmailModel {
  subject: string
  headline: string
  /** The headline's colour in the HTML part (green, red, amber). */
  color: string
  /** The labelled lines, in order. */
  facts: [label: string, value: string][]
  /** The sentence after the facts. */
  closing: string
  settingsUrl: string
}

/** The plain-text body: the facts as aligned `Label: value` lines. */
function factsText(m: FactsEmailModel): string {
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

function FactsEmail({ model: m }: { model: FactsEmailModel }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title safe>{m.subject}</title>
      </head>
      <body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2328;margin:0;padding:24px">
        <h1 style={`font-size:20px;margin:0 0 12px;color:${m.color}`} safe>
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

/** The subject and both bodies of a facts email. */
export function renderFactsEmail(m: FactsEmailModel): RenderedEmail {
  return { subject: m.subject, text: factsText(m), html: emailHtml(<FactsEmail model={m} />) }
}
