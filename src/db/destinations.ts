// The destinations' statements (table destinations): where a store's syncs are pushed. The URL
// and the signing secret are stored sealed (the caller seals and opens them).
import type { Queries } from './data.ts'

export type DestinationType = 'webhook' | 'slack'

/** A row of destinations as stored (url and secret sealed). */
export interface DestinationRow {
  id: number
  store_id: number
  type: DestinationType
  name: string
  url: string
  url_hint: string
  secret: string | null
  created_at: number
}

const COLUMNS = 'id, store_id, type, name, url, url_hint, secret, created_at'

/** What a new destination's row holds (url and secret already sealed). */
export interface NewDestinationRow {
  storeId: number
  type: DestinationType
  name: string
  url: string
  urlHint: string
  secret: string | null
  createdAt: number
}

/** Stores a destination; resolves to its row. */
export async function insertDestination(q: Queries, d: NewDestinationRow): Promise<DestinationRow> {
  const row = await q.get<DestinationRow>(
    `INSERT INTO destinations (store_id, type, name, url, url_hint, secret, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    d.storeId,
    d.type,
    d.name,
    d.url,
    d.urlHint,
    d.secret,
    d.createdAt,
  )
  if (!row) throw new Error('The destination was not stored')
  return row
}

/** A store's destinations, oldest first. */
export function destinationsOfStore(q: Queries, storeId: number): Promise<DestinationRow[]> {
  return q.all<DestinationRow>(
    `SELECT ${COLUMNS} FROM destinations WHERE store_id = ? ORDER BY id`,
    storeId,
  )
}

/** One destination of a store, or null. */
export function destinationById(
  q: Queries,
  storeId: number,
  id: number,
): Promise<DestinationRow | null> {
  return q.get<DestinationRow>(
    `SELECT ${COLUMNS} FROM destinations WHERE store_id = ? AND id = ?`,
    storeId,
    id,
  )
}

/** Deletes a destination of a store (its deliveries go with it); resolves to the rows deleted. */
export function deleteDestination(q: Queries, storeId: number, id: number): Promise<number> {
  return q.run('DELETE FROM destinations WHERE store_id = ? AND id = ?', storeId, id)
}

/** The destinations (of every store) whose URL or secret is stored in plaintext. */
export function plaintextDestinations(q: Queries, sealedPrefix: string): Promise<DestinationRow[]> {
  return q.all<DestinationRow>(
    `SELECT ${COLUMNS} FROM destinations
     WHERE substr(url, 1, ?) <> ? OR (secret IS NOT NULL AND substr(secret, 1, ?) <> ?)
     ORDER BY id`,
    sealedPrefix.length,
    sealedPrefix,
    sealedPrefix.length,
    sealedPrefix,
  )
}

/** Replaces a destination's stored URL and secret. */
export function replaceDestinationSecrets(
  q: Queries,
  id: number,
  url: string,
  secret: string | null,
): Promise<number> {
  return q.run('UPDATE destinations SET url = ?, secret = ? WHERE id = ?', url, secret, id)
}
