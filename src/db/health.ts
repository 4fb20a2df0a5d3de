// The health check's question to the database.
import type { Queries } from './data.ts'

/** Resolves once the database answers a statement; rejects when it cannot. */
export async function ping(q: Queries): Promise<void> {
  await q.get('SELECT 1')
}
