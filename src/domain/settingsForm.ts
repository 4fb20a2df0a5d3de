// How a store's settings meet a form and a table: which fields a Save from the page changes (and
// which it must not overwrite), and the settings as printable values. Pure: no database.
import {
  SECRET_SETTINGS,
  SETTING_KEYS,
  type SettingKey,
  type StoreSettings,
  settingFormValue,
} from './settings.ts'

/** What a Save from a page writes, and the fields it must not overwrite. */
export interface SettingsEdits {
  /** The fields the merchant changed on the page (the others keep their saved values). */
  changes: Record<string, string>
  /** Fields the merchant changed that were also changed elsewhere since the page loaded. */
  conflicts: Record<string, string>
}

/**
 * Compares a submitted form with the values the page was rendered with (`loaded`): a field whose
 * submitted value equals its loaded value was not touched and is left alone, so a change made
 * elsewhere meanwhile (the CLI, another tab) survives. A touched field whose saved value moved
 * away from `loaded` in the meantime is a conflict, unless both sides made the same change.
 * Secrets are never in `loaded` (the form never shows them): a non-empty one is a change.
 */
export function settingsEdits(
  current: StoreSettings,
  submitted: Record<string, string>,
  loaded: Record<string, unknown>,
): SettingsEdits {
  const changes: Record<string, string> = {}
  const conflicts: Record<string, string> = {}
  for (const [key, value] of Object.entries(submitted)) {
    const original = loaded[key]
    if (
      SECRET_SETTINGS.has(key) ||
      !SETTING_KEYS.includes(key as SettingKey) ||
      typeof original !== 'string'
    ) {
      changes[key] = value
      continue
    }
    if (value === original) continue
    const saved = settingFormValue(current, key as SettingKey)
    if (saved === original) changes[key] = value
    else if (value !== saved) {
      conflicts[key] =
        `was changed elsewhere to "${saved}" while you edited it; Save again to replace it with yours`
    }
  }
  return { changes, conflicts }
}

/** Settings as printable strings, secrets replaced by whether they are set. */
export function displaySettings(
  settings: StoreSettings,
  trackingId: string,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const key of SETTING_KEYS) {
    const value = settings[key]
    out[key] = SECRET_SETTINGS.has(key) ? (value ? '(set)' : '') : value
  }
  out.tracking_id = trackingId
  return out
}
