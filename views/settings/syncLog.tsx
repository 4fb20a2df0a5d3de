import { recentSyncRequests } from '../../src/domain/requestLog.ts'
import { recentSyncRecords } from '../../src/domain/sync.ts'
import { formatStoreTime, isoInstant } from '../format.ts'
import type { SettingsSection, SettingsView } from './types.ts'

function Time({ ms, timeZone }: { ms: number; timeZone: string }) {
  return (
    <time datetime={isoInstant(ms)} safe>
      {formatStoreTime(ms, timeZone)}
    </time>
  )
}

/** The sync log fragment (`#sync-log`): recent syncs and recent calls of the sync API. */
export function SyncLog({ view }: { view: SettingsView }) {
  const { ctx, settings } = view
  const tz = settings.timezone
  const records = recentSyncRecords(ctx.db, ctx.store.id, 10)
  const requests = recentSyncRequests(ctx.db, ctx.store.id, 10)
  return (
    <div id="sync-log">
      <h3>Syncs</h3>
      {records.length === 0 ? (
        <p class="empty">No sync yet.</p>
      ) : (
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Period</th>
                <th scope="col">Frequency</th>
                <th scope="col">Trigger</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => (
                <tr>
                  <td>
                    <Time ms={r.syncedAt} timeZone={tz} />
                  </td>
                  <td safe>{r.periodLabel}</td>
                  <td safe>{r.frequency}</td>
                  <td safe>{r.trigger}</td>
                  <td>
                    <span class={`status status-${r.status}`} safe>
                      {r.status}
                    </span>
                    {r.error ? (
                      <small class="muted" safe>
                        {` ${r.error}`}
                      </small>
                    ) : (
                      ''
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>API calls</h3>
      {requests.length === 0 ? (
        <p class="empty">No call of the sync API yet.</p>
      ) : (
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Key</th>
                <th scope="col">Address</th>
                <th scope="col">Status</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((r) => (
                <tr>
                  <td>
                    <Time ms={r.at} timeZone={tz} />
                  </td>
                  <td safe>{r.keyName ?? 'no valid key'}</td>
                  <td safe>{r.address ?? ''}</td>
                  <td>
                    <span class={`status ${r.status < 400 ? 'status-success' : 'status-failed'}`}>
                      {r.status}
                    </span>
                    {r.error ? (
                      <small class="muted" safe>
                        {` ${r.error}`}
                      </small>
                    ) : (
                      ''
                    )}
                  </td>
                  <td>{`${r.durationMs.toFixed(1)} ms`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button
        type="button"
        class="secondary outline"
        hx-get="/settings/sync-log"
        hx-target="#sync-log"
        hx-swap="outerHTML"
      >
        Refresh
      </button>
    </div>
  )
}

/** The recent sync log. */
export const syncLogSection: SettingsSection = {
  id: 'sync-log',
  title: 'Sync log',
  intro: 'Times in the store time zone.',
  fields: false,
  render(view) {
    return <SyncLog view={view} />
  },
}
