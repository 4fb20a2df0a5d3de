import { SECRET_SETTINGS, SETTING_KEYS, settingFormValue } from '../../src/domain/settings.ts'
import { attrText } from '../fields.tsx'
import { Layout, LogoutForm } from '../layout.tsx'
import { StoreSwitcher } from '../stores.tsx'
import { SETTINGS_SECTIONS, sectionModels } from './sections.tsx'
import type { SettingsSection, SettingsView } from './types.ts'

/** One section as a card; `partial` wraps it for an htmx swap by id after a Save. */
export function SectionBlock({ section, view }: { section: SettingsSection; view: SettingsView }) {
  return (
    <section id={`section-${section.id}`} class="card" aria-labelledby={`title-${section.id}`}>
      <h2 id={`title-${section.id}`} safe>
        {section.title}
      </h2>
      {section.intro ? (
        <p class="intro" safe>
          {section.intro}
        </p>
      ) : (
        ''
      )}
      {section.render(view)}
    </section>
  )
}

/** The time of a Save in the store's time zone, `HH:mm:ss`. */
function saveTime(view: SettingsView): string {
  const z = Temporal.Instant.fromEpochMilliseconds(view.now).toZonedDateTimeISO(
    view.settings.timezone,
  )
  return [z.hour, z.minute, z.second].map((n) => String(n).padStart(2, '0')).join(':')
}

/** The outcome of a Save, shown in the top bar; a success says when (each Save is visible). */
export function SaveStatus({
  ok,
  errorCount,
  view,
}: {
  ok: boolean
  errorCount?: number
  view: SettingsView
}) {
  if (ok) {
    return (
      <span class="save-ok" role="status" safe>
        {`Saved at ${saveTime(view)}`}
      </span>
    )
  }
  return (
    <span class="save-error" role="alert">
      {errorCount === 1 ? '1 field needs' : `${errorCount} fields need`} attention: nothing was
      saved.
    </span>
  )
}

/** The page title, which names the store. */
const pageTitle = (view: SettingsView) => `${view.settings.store_name} · Analytics API Data Export`

/** The store name in the top bar (the store's slug while it has no name). */
function TopbarStoreName({ view }: { view: SettingsView }) {
  return (
    <small id="topbar-store-name" safe>
      {view.settings.store_name || view.store.slug}
    </small>
  )
}

/** The top bar's switcher, named for this store; a Save redraws it (its menu names the store too). */
function TopbarSwitcher({ view }: { view: SettingsView }) {
  return (
    <StoreSwitcher current={view.store.slug} stores={view.stores}>
      <TopbarStoreName view={view} />
    </StoreSwitcher>
  )
}

/**
 * The values the form was rendered with (secrets aside, the form never shows them): a Save
 * writes only the fields that differ from these, and reports a field changed elsewhere meanwhile.
 */
function LoadedValues({ view }: { view: SettingsView }) {
  const loaded: Record<string, string> = {}
  for (const key of SETTING_KEYS) {
    if (!SECRET_SETTINGS.has(key)) loaded[key] = settingFormValue(view.settings, key)
  }
  return (
    <input
      type="hidden"
      id="settings-loaded"
      name="_loaded"
      value={attrText(JSON.stringify(loaded))}
    />
  )
}

/** The sections a Save answer renders again: those with setting fields. */
const SAVED_SECTIONS = SETTINGS_SECTIONS.filter((s) => s.fields)

/** The models a Save answer renders (the tracking counter aside, see `TrackingToday`). */
export const SAVE_RESULT_MODELS = sectionModels(SAVED_SECTIONS)

/**
 * The answer to an htmx Save: the status for the top bar, every section with fields rendered
 * again (saved values, or what was typed with the errors), the values the form now stands on,
 * the store switcher (the store's name), and the tab title (htmx takes it from `<title>`).
 */
export function SaveResult({ view, ok }: { view: SettingsView; ok: boolean }) {
  return (
    <>
      <title safe>{pageTitle(view)}</title>
      <SaveStatus ok={ok} errorCount={Object.keys(view.state.errors).length} view={view} />
      {SAVED_SECTIONS.map((s) => (
        <hx-partial hx-target={`#section-${s.id}`} hx-swap="outerHTML">
          <SectionBlock section={s} view={view} />
        </hx-partial>
      ))}
      <hx-partial hx-target="#settings-loaded" hx-swap="outerHTML">
        <LoadedValues view={view} />
      </hx-partial>
      <hx-partial hx-target="#store-switcher" hx-swap="outerHTML">
        <TopbarSwitcher view={view} />
      </hx-partial>
    </>
  )
}

/** `/settings`: the "Analytics API Data Export" screen. */
export function SettingsPage({
  view,
  saveStatus,
}: {
  view: SettingsView
  saveStatus?: JSX.Element
}) {
  return (
    <Layout title={pageTitle(view)} csrfToken={view.csrfToken}>
      <header class="topbar">
        <div class="container topbar-inner">
          <div class="brand">
            <strong>Analytics API Data Export</strong>
            <TopbarSwitcher view={view} />
          </div>
          <div class="topbar-actions">
            <span class="unsaved" id="unsaved" hidden>
              Unsaved changes
            </span>
            <span id="save-status" aria-live="polite">
              {saveStatus ?? ''}
            </span>
            <button type="submit" form="settings-form" id="save-button">
              Save
            </button>
            <LogoutForm csrfToken={view.csrfToken} />
          </div>
        </div>
      </header>
      <main class="container">
        <nav aria-label="Sections" class="section-nav">
          <ul>
            {SETTINGS_SECTIONS.map((s) => (
              <li>
                <a href={`#section-${s.id}`} safe>
                  {s.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <form
          id="settings-form"
          method="post"
          action={`${view.base}/settings`}
          novalidate
          hx-post={`${view.base}/settings`}
          hx-target="#save-status"
          hx-swap="innerHTML"
          hx-disable="#save-button"
          hx-indicator="#save-button"
          hx-sync="this:drop"
        >
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <LoadedValues view={view} />
          {SETTINGS_SECTIONS.map((s) => (
            <SectionBlock section={s} view={view} />
          ))}
        </form>
        {SETTINGS_SECTIONS.map((s) => (s.forms ? s.forms(view) : ''))}
        {/* The re-login dialog lands here when a request finds the session ended (auth.ts). */}
        <div id="relogin"></div>
        <footer class="muted">
          mida-export · data in <code safe>{view.server.dataDir}</code> ·{' '}
          <a href="/docs">API reference</a>
        </footer>
      </main>
    </Layout>
  )
}
