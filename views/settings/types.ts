import type { IssuedKey } from '../../src/domain/keys.ts'
import type { StoreSettings } from '../../src/domain/settings.ts'
import type { AppContext } from '../../src/http/context.ts'
import type { FieldState } from '../fields.tsx'

/** Everything a section of the settings page may show. */
export interface SettingsView {
  ctx: AppContext
  /** The settings as saved. */
  settings: StoreSettings
  /**
   * What the fields show: the saved settings (secrets blanked), or after a failed Save what was
   * typed, with `errors` naming each bad field (`SettingsError.fields`).
   */
  state: FieldState
  csrfToken: string
  /** A key issued by this request: shown once, in the API keys section. */
  newKey?: IssuedKey
  /** The id of a key revoked by this request: its row stays, marked revoked, so nothing moves. */
  revokedKey?: number
  /** The "Generate API Key" inputs after a refused attempt: what was typed and why it failed. */
  keyForm?: { name: string; scope: string; error: string }
}

/**
 * One section (card) of the settings page. The page wraps it in `<section id="section-{id}">`
 * with an `<h2>` holding `title`. Sections render inside the one settings `<form>`: every input
 * whose name is a setting key (src/domain/settings.ts) is saved by the top bar's Save.
 */
export interface SettingsSection {
  id: string
  title: string
  /** A line under the title. */
  intro?: string
  /**
   * True when the section holds setting fields: after a Save it is rendered again (with the
   * saved values, or the typed values and their errors).
   */
  fields: boolean
  render(view: SettingsView): JSX.Element
  /**
   * Forms that must not nest inside the settings form (their own submit, e.g. "Generate API
   * Key"): rendered after it; the section's inputs point at them with `form="…"`.
   */
  forms?(view: SettingsView): JSX.Element
}
