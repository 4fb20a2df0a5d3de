// Lets TypeScript accept `import source from './mida.js' with { type: 'text' }`: Bun embeds the
// file's text, it is never executed on the server.
declare const source: string
export default source
