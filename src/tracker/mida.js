// mida-export storefront tracker: <script defer src="BASE/mida.js" data-store="ID"></script>
// ES2017 (so no ?.), no eval, no globals but `mida`, every error swallowed: never breaks the page.
// biome-ignore-all lint/complexity/useOptionalChain: ES2017
;((w, d) => {
  let send = () => {}
  const ok = (f) =>
    function (...a) {
      try {
        return f.apply(this, a)
      } catch (_) {}
    }
  try {
    if (w.mida) return
    w.mida = { track: ok((name) => /^(add_to_cart|checkout)$/.test(name) && send(name)) }
    const script = d.currentScript || d.querySelector('script[data-store][src*="mida.js"]')
    const store = script && script.getAttribute('data-store')
    if (!store) return
    // Relative to the script: a server behind a path prefix works too.
    const endpoint = new URL('apiv1/collect', script.src).href
    const fetch0 = w.fetch
    const post = (url, body, headers) =>
      fetch0
        .call(w, url, {
          method: 'POST',
          body,
          headers,
          keepalive: true,
          credentials: 'same-origin',
        })
        .catch(() => {})
    const newId = () => {
      const a = new Uint8Array(16)
      try {
        crypto.getRandomValues(a)
      } catch (_) {
        for (let i = 0; i < 16; i++) a[i] = Math.random() * 256
      }
      return Array.prototype.map.call(a, (b) => (b + 256).toString(16).slice(1)).join('')
    }
    // First-party visitor id: localStorage, else a cookie, else this page's memory.
    let vid
    try {
      vid = localStorage.mida_vid
      if (!vid) localStorage.mida_vid = vid = newId()
    } catch (_) {
      try {
        vid = (/(?:^|;\s*)mida_vid=(\w+)/.exec(d.cookie) || [])[1] || newId()
        d.cookie = `mida_vid=${vid};path=/;max-age=31536000;SameSite=Lax`
      } catch (_) {
        vid = vid || newId()
      }
    }
    // Shopify: a cart attribute brings the visitor id to the order webhook (hidden at checkout).
    let tagged
    const tagCart = ok(() => {
      if (tagged || !w.Shopify) return
      tagged = 1
      const root = (w.Shopify.routes && w.Shopify.routes.root) || '/'
      post(`${root}cart/update.js`, JSON.stringify({ attributes: { _mida_visitor: vid } }), {
        'Content-Type': 'application/json',
      })
    })
    let ref = d.referrer
    send = ok((event) => {
      const body = JSON.stringify({ store, visitor: vid, event, url: location.href, referrer: ref })
      // A text/plain body needs no CORS preflight; a beacon survives leaving the page.
      if (!(navigator.sendBeacon && navigator.sendBeacon(endpoint, body))) post(endpoint, body)
      if (event === 'add_to_cart') setTimeout(tagCart, 1500)
    })
    const isAdd = ok(
      (url, method) =>
        /^post$/i.test(method) &&
        /\/cart\/add(\.js|\.json)?\/?$/.test(new URL(url, location.href).pathname),
    )
    let path
    let href
    // A replaceState that only changes the query (?variant=…) is not a new page.
    const pageview = ok(() => {
      if (location.pathname === path) return
      if (href) ref = href
      path = location.pathname
      href = location.href
      send('pageview')
      if (/\/cart\/?$/.test(path)) tagCart()
    })
    for (const name of ['pushState', 'replaceState']) {
      const orig = history[name]
      history[name] = function (...a) {
        const result = orig.apply(this, a)
        pageview()
        return result
      }
    }
    w.addEventListener('popstate', pageview)
    // Add to cart by form post; capture phase, so it runs even if the page stops propagation.
    d.addEventListener(
      'submit',
      ok((e) => {
        const form = e.target
        const action = form.getAttribute('action') || location.href
        if (isAdd(action, form.getAttribute('method'))) send('add_to_cart')
        else if (
          /\/checkouts?(\/|$)/.test(new URL(action, location.href).pathname) ||
          (e.submitter && e.submitter.name === 'checkout')
        )
          send('checkout')
      }),
      true,
    )
    // ... by fetch ...
    const check = ok((url, method) => isAdd(url, method) && send('add_to_cart'))
    w.fetch = (input, init, ...a) => {
      check((input && input.url) || input, (init && init.method) || (input && input.method))
      return fetch0.call(w, input, init, ...a)
    }
    // ... or by XMLHttpRequest.
    const X = XMLHttpRequest.prototype
    const open = X.open
    X.open = function (method, url, ...a) {
      check(url, method)
      return open.call(this, method, url, ...a)
    }
    if (d.prerendering) d.addEventListener('prerenderingchange', pageview, { once: true })
    else pageview()
  } catch (_) {}
})(window, document)
