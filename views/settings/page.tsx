import { Layout } from '../layout.tsx'
import { SETTINGS_SECTIONS } from './sections.tsx'
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

/** The outcome of a Save, shown in the top bar. */
export function SaveStatus({ ok, errorCount }: { ok: boolean; errorCount?: number }) {
  if (ok) {
    return (
      <span class="save-ok" role="status">
        Saved
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

/**
 * The answer to an htmx Save: the status for the top bar, and every section with fields
 * rendered again (saved values, or what was typed with the errors) through `<hx-partial>`.
 */
export function SaveResult({ view, ok }: { view: SettingsView; ok: boolean }) {
  return (
    <>
      <SaveStatus ok={ok} errorCount={Object.keys(view.state.errors).length} />
      {SETTINGS_SECTIONS.filter((s) => s.fields).map((s) => (
        <hx-partial hx-target={`#section-${s.id}`} hx-swap="outerHTML">
          <SectionBlock section={s} view={view} />
        </hx-partial>
      ))}
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
  const { settings, ctx } = view
  return (
    <Layout title={`${settings.store_name} · Analytics API Data Export`} csrfToken={view.csrfToken}>
      <header class="topbar">
        <div class="container topbar-inner">
          <div class="brand">
            <strong>Analytics API Data Export</strong>
            <small safe>{settings.store_name}</small>
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
            <form method="post" action="/logout" class="logout">
              <input type="hidden" name="_csrf" value={view.csrfToken} />
              <button type="submit" class="secondary outline">
                Log out
              </button>
            </form>
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
          action="/settings"
          novalidate
          hx-post="/settings"
          hx-target="#save-status"
          hx-swap="innerHTML"
        >
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          {SETTINGS_SECTIONS.map((s) => (
            <SectionBlock section={s} view={view} />
          ))}
        </form>
        {SETTINGS_SECTIONS.map((s) => (s.forms ? s.forms(view) : ''))}
        <footer class="muted">
          mida-export · data in <code safe>{ctx.config.dataDir}</code>
        </footer>
      </main>
    </Layout>
  )
}
