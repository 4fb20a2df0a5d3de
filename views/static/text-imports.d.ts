// Files imported as text (`with { type: 'text' }`), so `bun build --compile` embeds them.
declare module '*.css' {
  const text: string
  export default text
}
declare module 'htmx.org/dist/htmx.min.js' {
  const text: string
  export default text
}
declare module '*.svg' {
  const text: string
  export default text
}
