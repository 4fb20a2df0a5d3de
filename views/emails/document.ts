import type { MailMessage } from '../../src/domain/mailer.ts'

/** An email's subject and bodies, ready for a Mailer once it has a recipient. */
export type RenderedEmail = Omit<MailMessage, 'to'>

/** The HTML body of an email: its rendered `<html>` element after a doctype. */
export function emailHtml(element: JSX.Element): string {
  if (typeof element !== 'string') throw new Error('An async email was rendered synchronously')
  return `<!doctype html>${element}`
}
