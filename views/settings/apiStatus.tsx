import { CheckboxField } from '../fields.tsx'
import type { SettingsSection } from './types.ts'

/** "API Status": the switch that turns the sync API on and off. */
export const apiStatusSection: SettingsSection = {
  id: 'api-status',
  title: 'API Status',
  intro: 'When deactivated, the sync API answers 403 to every key.',
  fields: true,
  render({ state, server }) {
    const on = state.values.api_enabled === true || state.values.api_enabled === 'true'
    return (
      <>
        <CheckboxField name="api_enabled" label="API Status" role="switch" state={state}>
          {' '}
          <strong class="switch-state" data-switch-state="field-api_enabled">
            {on ? 'Activated' : 'Deactivated'}
          </strong>
        </CheckboxField>
        <p>
          Endpoint: <code safe>{`POST ${server.baseUrl}/apiv1/analytics/sync`}</code>
        </p>
      </>
    )
  },
}
