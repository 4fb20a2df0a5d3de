// app.js is served to the browser; the server imports it as text.
declare const text: string
export default text
