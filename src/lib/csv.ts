// RFC 4180 CSV, streamed: generic, knows nothing of the product.

export type ByteStream = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

/** One CSV record with the (1-based) line it starts on, or a record that cannot be read. */
export type CsvRow = { line: number; fields: string[] } | { line: number; error: string }

/**
 * Streams RFC 4180 records: fields separated by commas, optionally quoted; inside quotes, `""`
 * is a quote and commas and line breaks are data. CRLF or LF line ends, a leading BOM is
 * skipped, blank lines are ignored. Lenient where Excel is: a stray quote inside an unquoted
 * field is kept as a character. Holds one record in memory at a time.
 */
export async function* parseCsv(stream: ByteStream): AsyncGenerator<CsvRow> {
  const decoder = new TextDecoder()
  let fields: string[] = []
  let field = ''
  let inQuotes = false
  let quoted = false
  let afterQuote = false
  let line = 1
  let recordLine = 1
  let start = true
  const finish = (): CsvRow | null => {
    fields.push(field)
    const row = fields
    fields = []
    field = ''
    quoted = false
    afterQuote = false
    return row.length === 1 && row[0] === '' ? null : { line: recordLine, fields: row }
  }
  const feed = function* (text: string): Generator<CsvRow> {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!
      if (inQuotes) {
        if (c === '"') {
          inQuotes = false
          afterQuote = true
        } else {
          if (c === '\n') line++
          field += c
        }
        continue
      }
      if (c === '"') {
        if (afterQuote) {
          field += '"'
          inQuotes = true
          afterQuote = false
        } else if (field === '' && !quoted) {
          inQuotes = true
          quoted = true
        } else field += c
        continue
      }
      afterQuote = false
      if (c === ',') {
        fields.push(field)
        field = ''
        quoted = false
      } else if (c === '\n') {
        const row = finish()
        if (row) yield row
        line++
        recordLine = line
      } else if (c !== '\r') field += c
    }
  }
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    let text = decoder.decode(chunk, { stream: true })
    if (start && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      start = false
    }
    yield* feed(text)
  }
  yield* feed(decoder.decode())
  if (inQuotes) {
    yield { line: recordLine, error: 'a quoted field is never closed' }
    return
  }
  const last = finish()
  if (last) yield last
}
