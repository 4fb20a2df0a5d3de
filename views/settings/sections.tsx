import { apiKeysSection } from './apiKeys.tsx'
import { apiStatusSection } from './apiStatus.tsx'
import { auditSection } from './audit.tsx'
import { dashboardSection } from './dashboard.tsx'
import { destinationsSection } from './destinations.tsx'
import { emailNotificationsSection } from './emailNotifications.tsx'
import { smtpSection } from './notifications.tsx'
import { reportsSection } from './reports.tsx'
import { storeSection } from './store.tsx'
import { syncFrequencySection } from './syncFrequency.tsx'
import { syncLogSection } from './syncLog.tsx'
import { trackingSection } from './tracking.tsx'
import type { ModelName, SettingsSection } from './types.ts'

/**
 * The sections of the settings page, in page order: THE place to add one. A section is a
 * `SettingsSection` (see types.ts) in its own file under views/settings/; its setting fields are
 * saved by the top bar's Save, its own actions go to routes of its feature's plugin, guarded by
 * `adminAuth` (src/http/auth.ts).
 */
export const SETTINGS_SECTIONS: SettingsSection[] = [
  dashboardSection,
  apiStatusSection,
  apiKeysSection,
  reportsSection,
  syncFrequencySection,
  emailNotificationsSection,
  smtpSection,
  destinationsSection,
  storeSection,
  trackingSection,
  syncLogSection,
  auditSection,
]

/** The models a set of sections renders: what a loader must build for them, and no more. */
export function sectionModels(sections: SettingsSection[]): ModelName[] {
  return [...new Set(sections.flatMap((s) => s.models ?? []))]
}

/** The whole page's models. */
export const PAGE_MODELS = sectionModels(SETTINGS_SECTIONS)
