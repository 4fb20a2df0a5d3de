import type { SyncRecordSummary } from '../../src/domain/sync.ts'
import { formatCount, formatMoney, formatPercent } from '../../src/lib/format.ts'
import { Refreshable, RepeatCount, StoreTime, Table } from '../table.tsx'
import { modelOf, type SettingsSection, type SyncLogModel } from './types.ts'

/** A failure's message after its status, or nothing. */
function ErrorNote({ error }: { error: string | null }) {
  if (!error) return ''
  return (
    <small class="muted" safe>
      {` ${error}`}
    </small>
  )
}

/** A sync's period, with its stored headline figures a click away (a success only). */
function PeriodCell({ record }: { record: SyncRecordSummary }) {
  const f = record.figures
  if (!f) return <span safe>{record.periodLabel}</span>
  return (
    <details class="sync-figures">
      <summary safe>{record.periodLabel}</summary>
      <dl>
        <dt>Sessions</dt>
        <dd>{formatCount(f.sessions)}</dd>
        <dt>Visitors</dt>
        <dd>{formatCount(f.visitors)}</dd>
        <dt>Orders</dt>
        <dd>{formatCount(f.orders)}</dd>
        <dt>Revenue</dt>
        <dd safe>{formatMoney(f.revenue, f.currency)}</dd>
        <dt>Conversion</dt>
        <dd>{formatPercent(f.conversion)}</dd>
      </dl>
    </details>
  )
}

/** The sync log fragment (`#sync-log`): recent syncs and recent calls of the sync API. */
export function SyncLog({ model }: { model: SyncLogModel }) {
  const { records, requests, timeZone: tz } = model
  return (
    <Refreshable id="sync-log" path={`${model.base}/settings/sync-log`}>
      <h3>Syncs</h3>
      <Table
        columns={['Time', 'Period', 'Frequency', 'Trigger', 'Status']}
        empty="No sync yet."
        rows={records.map((r) => (
          <tr data-sync-id={String(r.id)}>
            <td>
              <StoreTime ms={r.syncedAt} timeZone={tz} />
            </td>
            <td>
              <PeriodCell record={r} />
            </td>
            <td safe>{r.frequency}</td>
            <td safe>{r.trigger}</td>
            <td>
              <span class={`status status-${r.status}`} safe>
                {r.status}
              </span>
              <ErrorNote error={r.error} />
            </td>
          </tr>
        ))}
      />
      <h3>API calls</h3>
      <Table
        columns={['Time', 'Key', 'Address', 'Status', 'Duration']}
        empty="No call of the sync API yet."
        rows={requests.map((r) => (
          <tr>
            <td>
              <StoreTime ms={r.at} timeZone={tz} />
            </td>
            <td safe>{r.keyName ?? 'no valid key'}</td>
            <td safe>{r.address ?? ''}</td>
            <td>
              <span class={`status ${r.status < 400 ? 'status-success' : 'status-failed'}`}>
                {r.status}
              </span>
              <RepeatCount count={r.count} />
              <ErrorNote error={r.error} />
            </td>
            <td>{`${r.durationMs.toFixed(1)} ms`}</td>
          </tr>
        ))}
      />
    </Refreshable>
  )
}

/** The recent sync log. */
export const syncLogSection: SettingsSection = {
  id: 'sync-log',
  title: 'Sync log',
  intro: 'Times in the store time zone.',
  fields: false,
  models: ['syncLog'],
  render(view) {
    return <SyncLog model={modelOf(view, 'syncLog')} />
  },
}
