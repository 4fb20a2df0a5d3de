import { AuditLog } from './audit.tsx'
import { Overview } from './dashboard.tsx'
import { type ModelName, modelOf, type SettingsView } from './types.ts'

/** The models `AfterChangePartials` renders. */
export const AFTER_CHANGE_MODELS: ModelName[] = ['audit', 'overview']

/**
 * The page parts that follow what a key action or "Activate the API now" changed, as htmx
 * partials sent along with the answer: the audit log, and the overview (whose checklist ticks
 * the API and the key).
 */
export function AfterChangePartials({ view }: { view: SettingsView }) {
  return (
    <>
      <hx-partial hx-target="#audit-log" hx-swap="outerHTML">
        <AuditLog model={modelOf(view, 'audit')} />
      </hx-partial>
      <hx-partial hx-target="#overview" hx-swap="outerHTML">
        <Overview model={modelOf(view, 'overview')} />
      </hx-partial>
    </>
  )
}
