// mida-export's own behaviour: copy buttons, the API Status label, the unsaved-changes badge.
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
      if (k !== '_csrf' && typeof v === 'string') pairs.push(`${k}=${v}`)
    }
    return pairs.join('&')
  }

  let saved = null

  function updateDirty() {
    const badge = document.getElementById('unsaved')
    if (!badge || saved === null) return
    const dirty = snapshot() !== saved
    badge.hidden = !dirty
    document.body.toggleAttribute('data-unsaved', dirty)
  }

  function updateSwitchLabels() {
    for (const label of document.querySelectorAll('[data-switch-state]')) {
      const input = document.getElementById(label.getAttribute('data-switch-state'))
      if (input) label.textContent = input.checked ? '[Activated]' : '[Deactivated]'
    }
  }

  function onChange(event) {
    if (!(event.target instanceof Element) || !event.target.closest(`#${FORM_ID}`)) return
    updateSwitchLabels()
    updateDirty()
  }
  document.addEventListener('input', onChange)
  document.addEventListener('change', onChange)

  // The server answered a Save with HX-Trigger: settings-saved: the form now matches the database.
  document.addEventListener('settings-saved', () => {
    saved = snapshot()
    updateDirty()
  })
  // After a refused Save the sections come back with what was typed: still unsaved.
  document.addEventListener('htmx:after:settle', () => {
    updateSwitchLabels()
    updateDirty()
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
    if (wasClean) document.dispatchEvent(new CustomEvent('settings-saved'))
  })
})()
