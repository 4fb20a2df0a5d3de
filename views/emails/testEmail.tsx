import { describeSmtpTarget, type MailMessage, type SmtpTarget } from '../../src/domain/mailer.ts'
import { emailHtml } from './document.ts'

const INTRO = 'This is a test email from mida-export.'
const OUTRO = 'Sync notifications will arrive like this one.'

/**
 * The test email of the settings page; `at` is when it is sent, in store time with the zone;
 * `settingsUrl` the page of the store it was sent from.
 */
export function testEmail(
  to: string,
  target: SmtpTarget,
  settingsUrl: string,
  at: string,
): MailMessage {
  const facts = [
    `Sent at: ${at}`,
    `SMTP server: ${describeSmtpTarget(target)}`,
    `Sender: ${target.from}`,
    `Recipient: ${to}`,
  ]
  const html = (
    <html lang="en">
      <body style="font-family:system-ui,sans-serif">
        <p>{INTRO}</p>
        {facts.map((line) => (
          <p safe>{line}</p>
        ))}
        <p>{OUTRO}</p>
        <p>
          <a href={settingsUrl}>Open the settings page</a>
        </p>
      </body>
    </html>
  )
  return {
    to,
    subject: 'mida-export: test email',
    text: [INTRO, '', ...facts, '', OUTRO, '', `Settings: ${settingsUrl}`, ''].join('\n'),
    html: emailHtml(html),
  }
}
