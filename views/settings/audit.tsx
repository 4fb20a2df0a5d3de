import { escapeHtml } from '@kitajs/html'
import { AUDIT_ACTIONS, recentAudit } from '../../src/domain/audit.ts'
import { Refreshable, RepeatCount, StoreTime, Table } from '../table.tsx'
import type { SettingsSection, SettingsView } from './types.ts'

/** The audit log fragment (`#audit-log`): who changed keys and settings, who logged in. */
export function AuditLog({ view }: { view: SettingsView }) {
  const { ctx, settings } = view
  const entries = recentAudit(ctx.db, ctx.store.id, 50)
  return (
    <Refreshable id="audit-log" path="/settings/audit">
      <Table
        columns={['Time', 'Who', 'Address', 'What', 'Detail']}
        empty="Nothing recorded yet."
        rows={entries.map((e) => (
          <tr>
            <td>
              <StoreTime ms={e.at} timeZone={settings.timezone} />
            </td>
            <td safe>{e.actor}</td>
            <td safe>{e.address ?? ''}</td>
            <td>
              {escapeHtml(AUDIT_ACTIONS[e.action] ?? e.action)}
              <RepeatCount count={e.count} />
            </td>
            <td safe>{e.detail}</td>
          </tr>
        ))}
      />
    </Refreshable>
  )
}

/** The audit log: the last 50 entries. */
export const auditSection: SettingsSection = {
  id: 'audit',
  title: 'Audit log',
  intro:
    'Keys created, revoked and regenerated, the API switched on or off, settings changed, logins. Times in the store time zone.',
  fields: false,
  render(view) {
    return <AuditLog view={view} />
  },
}
