// The scheduler's claims (`sync_claims`): which process is syncing a period, since when, and how
// many attempts it took, so that exactly one of several processes on one data directory syncs it.
import type { Queries } from './data.ts'
import type { SyncKey } from './syncs.ts'

/** A period's claim. */
export interface SyncClaimRow {
  attempts: number
  lease_until: number
  done_at: number | null
}

/** The claim on a period, or null. */
export function syncClaim(q: Queries, key: SyncKey): Promise<SyncClaimRow | null> {
  return q.get<SyncClaimRow>(
    `SELECT attempts, lease_until, done_at FROM sync_claims
     WHERE store_id = ? AND frequency = ? AND period_start = ?`,
    key.storeId,
    key.frequency,
    key.periodStart,
  )
}

/** Claims a period for `owner` until `leaseUntil`, counting one more attempt. */
export function takeSyncClaim(
  q: Queries,
  key: SyncKey,
  owner: string,
  leaseUntil: number,
): Promise<number> {
  return q.run(
    `INSERT INTO sync_claims (store_id, frequency, period_start, owner, attempts, lease_until)
     VALUES (?, ?, ?, ?, 1, ?)
     ON CONFLICT (store_id, frequency, period_start) DO UPDATE SET owner = excluded.owner,
       attempts = sync_claims.attempts + 1, lease_until = excluded.lease_until`,
    key.storeId,
    key.frequency,
    key.periodStart,
    owner,
    leaseUntil,
  )
}

/** Records how `owner`'s claim ended: done at `doneAt`, or (null) failed with `error`. */
export function endSyncClaim(
  q: Queries,
  key: SyncKey,
  owner: string,
  end: { doneAt: number | null; leaseUntil: number; error: string | null },
): Promise<number> {
  return q.run(
    `UPDATE sync_claims SET done_at = ?, lease_until = ?, last_error = ?
     WHERE store_id = ? AND frequency = ? AND period_start = ? AND owner = ?`,
    end.doneAt,
    end.leaseUntil,
    end.error,
    key.storeId,
    key.frequency,
    key.periodStart,
    owner,
  )
}
