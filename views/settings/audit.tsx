import { escapeHtml } from '@kitajs/html'
import { AUDIT_ACTIONS } from '../../src/domain/audit.ts'
import { Refreshable, RepeatCount, StoreTime, Table } from '../table.tsx'
import { type AuditModel, modelOf, type SettingsSection } from './types.ts'

/** The audit log fragment (`#audit-log`): who changed keys and settings, who logged in. */
export function AuditLog({ model }: { model: AuditModel }) {
  const { entries, timeZone } = model
  return (
    <Refreshable id="audit-log" path={`${model.base}/settings/audit`}>
      <Table
        columns={['Time', 'Who', 'Address', 'What', 'Detail']}
        empty="Nothing recorded yet."
        rows={entries.map((e) => (
          <tr>
            <td>
              <StoreTime ms={e.at} timeZone={timeZone} />
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
  models: ['audit'],
  render(view) {
    return <AuditLog model={modelOf(view, 'audit')} />
  },
}
