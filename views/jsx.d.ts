// htmx 4's <hx-partial> element: swaps its content into its own hx-target.
declare namespace JSX {
  interface IntrinsicElements {
    'hx-partial': HtmlTag
  }
}
