import { AUDIT_ACTIONS, recentAudit } from '../../src/domain/audit.ts'
import { formatStoreTime, isoInstant } from '../format.ts'
import type { SettingsSection, SettingsView } from './types.ts'

/** The audit log fragment (`#audit-log`): who changed keys and settings, who logged in. */
export function AuditLog({ view }: { view: SettingsView }) {
  const { ctx, settings } = view
  const entries = recentAudit(ctx.db, ctx.store.id, 50)
  return (
    <div id="audit-log">
      {entries.length === 0 ? (
        <p class="empty">Nothing recorded yet.</p>
      ) : (
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Who</th>
                <th scope="col">Address</th>
                <th scope="col">What</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr>
                  <td>
                    <time datetime={isoInstant(e.at)} safe>
                      {formatStoreTime(e.at, settings.timezone)}
                    </time>
                  </td>
                  <td safe>{e.actor}</td>
                  <td safe>{e.address ?? ''}</td>
                  <td safe>{AUDIT_ACTIONS[e.action] ?? e.action}</td>
                  <td safe>{e.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button
        type="button"
        class="secondary outline"
        hx-get="/settings/audit"
        hx-target="#audit-log"
        hx-swap="outerHTML"
      >
        Refresh
      </button>
    </div>
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
