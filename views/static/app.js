// mida-export's own behaviour: copy buttons, the API Status label, the unsaved-changes badge and
// guard, Save's busy state, and the re-login dialog when the session has ended.
// A static file (no inline script or handler), so the page runs under a strict CSP.
;(() => {
  const FORM_ID = 'settings-form'

  /** Copies text: the async Clipboard API when available, a hidden textarea otherwise. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text)
      return
    }
    const area = document.createElement('textarea')
    area.value = text
    area.setAttribute('readonly', '')
    area.className = 'visually-hidden'
    document.body.appendChild(area)
    area.select()
    const ok = document.execCommand('copy')
    area.remove()
    if (!ok) throw new Error('copy refused')
  }

  document.addEventListener('click', async (event) => {
    const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null
    if (!button) return
    const source = document.getElementById(button.getAttribute('data-copy'))
    if (!source) return
    const label = button.textContent
    try {
      await copyText(source.textContent.trim())
      button.textContent = 'Copied'
    } catch {
      button.textContent = 'Select and copy'
      const range = document.createRange()
      range.selectNodeContents(source)
      const selection = window.getSelection()
      selection.removeAllRanges()
      selection.addRange(range)
    }
    setTimeout(() => {
      button.textContent = label
    }, 2000)
  })

  /** The form's fields as one string, to compare with what was last saved. */
  function snapshot() {
    const form = document.getElementById(FORM_ID)
    if (!form) return ''
    const pairs = []
    for (const [k, v] of new FormData(form)) {
      if (k !== '_csrf' && k !== '_loaded' && typeof v === 'string') pairs.push(`${k}=${v}`)
    }
    return pairs.join('&')
  }

  let saved = null
  // Set once the merchant chose to leave (Log out confirmed): no second warning on the way out.
  let leaving = false
  // A Save refused because the session ended: sent again once the merchant has logged in again.
  let retrySave = false

  function isDirty() {
    return saved !== null && snapshot() !== saved
  }

  function updateDirty() {
    const badge = document.getElementById('unsaved')
    if (!badge || saved === null) return
    const dirty = isDirty()
    badge.hidden = !dirty
    document.body.toggleAttribute('data-unsaved', dirty)
  }

  function updateSwitchLabels() {
    for (const label of document.querySelectorAll('[data-switch-state]')) {
      const input = document.getElementById(label.getAttribute('data-switch-state'))
      if (input) label.textContent = input.checked ? 'Activated' : 'Deactivated'
    }
  }

  function onChange(event) {
    if (!(event.target instanceof Element) || !event.target.closest(`#${FORM_ID}`)) return
    updateSwitchLabels()
    updateDirty()
  }
  document.addEventListener('input', onChange)
  document.addEventListener('change', onChange)

  // Reload, a link away, closing the tab: the browser asks first while edits are unsaved.
  window.addEventListener('beforeunload', (event) => {
    if (leaving || !isDirty()) return
    event.preventDefault()
    event.returnValue = ''
  })

  // Log out with unsaved edits: say so, and stay unless the merchant confirms.
  document.addEventListener('submit', (event) => {
    const form = event.target
    if (!(form instanceof HTMLFormElement) || !form.classList.contains('logout')) return
    if (isDirty() && !window.confirm('You have unsaved changes. Log out and lose them?')) {
      event.preventDefault()
      return
    }
    leaving = true
  })

  const isSave = (event) => event.target instanceof Element && event.target.id === FORM_ID

  function setStatus(text) {
    const status = document.getElementById('save-status')
    if (status) status.textContent = text
  }

  // While the re-login dialog is open only its own login goes out: a poll (the tracking figures)
  // would be refused too and replace the dialog under the merchant's typing.
  document.addEventListener('htmx:before:request', (event) => {
    const dialog = document.getElementById('relogin-dialog')
    const inDialog = event.target instanceof Element && event.target.closest('#relogin')
    if (dialog instanceof HTMLDialogElement && dialog.open && !inDialog) event.preventDefault()
  })

  // While a Save runs its button is disabled (hx-disable) and busy; the top bar says so.
  document.addEventListener('htmx:before:request', (event) => {
    if (!isSave(event) || event.defaultPrevented) return
    document.getElementById('save-button')?.setAttribute('aria-busy', 'true')
    setStatus('Saving…')
  })
  document.addEventListener('htmx:finally:request', (event) => {
    if (!isSave(event)) return
    document.getElementById('save-button')?.removeAttribute('aria-busy')
  })
  document.addEventListener('htmx:after:request', (event) => {
    if (!isSave(event)) return
    const status = event.detail?.ctx?.response?.status
    if (status === 401) {
      retrySave = true
      setStatus('Not saved yet: your session has ended.')
    } else if (status === undefined || status >= 500) {
      setStatus('Not saved: the server did not answer. Try again.')
    }
  })
  document.addEventListener('htmx:error', (event) => {
    if (isSave(event)) setStatus('Not saved: the server did not answer. Try again.')
  })

  // The session ended: the server put a login dialog in #relogin; it opens over the page.
  function openRelogin() {
    const dialog = document.getElementById('relogin-dialog')
    if (dialog instanceof HTMLDialogElement && !dialog.open) dialog.showModal()
  }

  // Logged in again: the page's requests carry the new session's CSRF token, the dialog goes,
  // and a Save the ended session refused is sent again with the edits as they are.
  document.addEventListener('session-renewed', (event) => {
    const token = event.detail?.csrfToken
    if (typeof token !== 'string' || token === '') return
    document.body.setAttribute('hx-headers:inherited', JSON.stringify({ 'X-CSRF-Token': token }))
    for (const input of document.querySelectorAll('input[name="_csrf"]')) {
      if (!input.closest('#relogin')) input.value = token
    }
    const dialog = document.getElementById('relogin-dialog')
    if (dialog instanceof HTMLDialogElement) {
      if (dialog.open) dialog.close()
      dialog.remove()
    }
    setStatus('')
    if (retrySave) {
      retrySave = false
      document.getElementById(FORM_ID)?.requestSubmit()
    }
  })

  // The server answered a Save with HX-Trigger: settings-saved: the form now matches the database.
  document.addEventListener('settings-saved', () => {
    saved = snapshot()
    updateDirty()
  })
  // After a refused Save the sections come back with what was typed: still unsaved.
  document.addEventListener('htmx:after:settle', () => {
    updateSwitchLabels()
    updateDirty()
    openRelogin()
  })

  function init() {
    saved = snapshot()
    updateSwitchLabels()
    updateDirty()
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init)
  else init()
})()

// --- ui2: "Activate the API now" in the new-key box (separate block) ---
// The answer swaps in the API Status section with its switch on, which the database now says
// too. A form that had no unsaved edit before stays clean (the same event a Save sends); one that
// had edits keeps showing them as unsaved.
;(() => {
  let wasClean = false
  document.addEventListener('htmx:before:request', (event) => {
    const form = event.target instanceof Element ? event.target.closest('#api-activate-form') : null
    if (form) wasClean = document.getElementById('unsaved')?.hidden !== false
  })
  document.addEventListener('api-activated', () => {
    // The form now stands on api_enabled=true: a Save compares the switch with that, so turning
    // it off again is a change, and one made elsewhere meanwhile is a conflict, not a revert.
    const loaded = document.getElementById('settings-loaded')
    if (loaded instanceof HTMLInputElement) {
      const values = JSON.parse(loaded.value || '{}')
      values.api_enabled = 'true'
      loaded.value = JSON.stringify(values)
    }
    if (wasClean) document.dispatchEvent(new CustomEvent('settings-saved'))
  })
})()
