import { describe, expect, test } from 'bun:test'
import type { SmtpTarget } from '../../../src/domain/mailer.ts'
import { testEmail } from '../../../views/emails/testEmail.tsx'

const TARGET: SmtpTarget = {
  source: 'settings',
  host: 'smtp.acme.test',
  port: 587,
  security: 'starttls',
  user: 'mailer',
  password: 'never-shown',
  from: 'Acme <script>x</script> <mida@acme.test>',
}

describe('the test email of the settings page', () => {
  const mail = testEmail(
    'owner@acme.test',
    TARGET,
    'https://stats.acme.test/stores/acme/settings',
    '2026-11-26 01:00 (America/New_York)',
  )

  test('the text part lists when, through which server, from and to whom', () => {
    expect(mail.to).toBe('owner@acme.test')
    expect(mail.subject).toBe('mida-export: test email')
    expect(mail.text).toBe(
      [
        'This is a test email from mida-export.',
        '',
        'Sent at: 2026-11-26 01:00 (America/New_York)',
        'SMTP server: smtp.acme.test:587 (STARTTLS, as mailer)',
        'Sender: Acme <script>x</script> <mida@acme.test>',
        'Recipient: owner@acme.test',
        '',
        'Sync notifications will arrive like this one.',
        '',
        'Settings: https://stats.acme.test/stores/acme/settings',
        '',
      ].join('\n'),
    )
  })

  test('the HTML part says the same, one paragraph a line, the sender escaped', () => {
    expect(mail.html).toBe(
      '<!doctype html><html lang="en"><body style="font-family:system-ui,sans-serif">' +
        '<p>This is a test email from mida-export.</p>' +
        '<p>Sent at: 2026-11-26 01:00 (America/New_York)</p>' +
        '<p>SMTP server: smtp.acme.test:587 (STARTTLS, as mailer)</p>' +
        '<p>Sender: Acme &lt;script&gt;x&lt;/script&gt; &lt;mida@acme.test&gt;</p>' +
        '<p>Recipient: owner@acme.test</p>' +
        '<p>Sync notifications will arrive like this one.</p>' +
        '<p><a href="https://stats.acme.test/stores/acme/settings">Open the settings page</a></p>' +
        '</body></html>',
    )
    expect(mail.text + mail.html).not.toContain('never-shown')
  })
})
