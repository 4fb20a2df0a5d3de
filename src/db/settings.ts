// The store_settings table: one row per (store, setting) the merchant saved; absent rows take
// the defaults (src/domain/settings.ts). Secret values are stored sealed (MIDA_SECRET_KEY).

import type { Queries } from './data.ts'

/** A saved setting as stored: its value as text (a secret possibly sealed). */
export interface SettingRow {
  key: string
  value: string
}

/** A saved secret of some store, for the start-up sealing. */
export interface StoredSecretRow {
  store_id: number
  key: string
  value: string
}

const SETTING_ROWS = 'SELECT key, value FROM store_settings WHERE store_id = ?'
const SAVE_SETTING = `INSERT INTO store_settings (store_id, key, value, updated_at) VALUES (?, ?, ?, ?)
  ON CONFLICT (store_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

/** Every setting a store saved. */
export function settingRows(q: Queries, storeId: number): Promise<SettingRow[]> {
  return q.all<SettingRow>(SETTING_ROWS, storeId)
}

/** True when a store has saved at least one setting (its settings were initialised). */
export async function hasSettings(q: Queries, storeId: number): Promise<boolean> {
  return (await q.get('SELECT 1 FROM store_settings WHERE store_id = ? LIMIT 1', storeId)) !== null
}

/** Saves one setting's stored text. */
export function saveSetting(
  q: Queries,
  storeId: number,
  key: string,
  value: string,
  at: number,
): Promise<number> {
  return q.run(SAVE_SETTING, storeId, key, value, at)
}

/** The non-empty values of the settings named `keys`, in every store. */
export function storedValuesOf(q: Queries, keys: readonly string[]): Promise<StoredSecretRow[]> {
  return q.all<StoredSecretRow>(
    `SELECT store_id, key, value FROM store_settings
     WHERE key IN (${keys.map(() => '?').join(', ')}) AND value <> ''`,
    ...keys,
  )
}

/** Replaces one stored value in place (its update time stays: the setting did not change). */
export function replaceStoredValue(
  q: Queries,
  storeId: number,
  key: string,
  value: string,
): Promise<number> {
  return q.run(
    'UPDATE store_settings SET value = ? WHERE store_id = ? AND key = ?',
    value,
    storeId,
    key,
  )
}
