// Byte chunks to numbered text lines: generic, knows nothing of the product.

/**
 * Splits bytes into lines, numbered from 1, across chunk boundaries (a line, or a multi-byte
 * character, may be cut anywhere); drops a trailing `\r`.
 */
export class LineSplitter {
  private readonly decoder: TextDecoder
  private pending = ''
  private line = 0

  /**
   * `keepBOM`: a byte order mark at the start is text like any other (for a block cut from the
   * middle of an input, whose own start was dealt with before); by default it is dropped.
   */
  constructor({ keepBOM = false }: { keepBOM?: boolean } = {}) {
    this.decoder = new TextDecoder('utf-8', { ignoreBOM: keepBOM })
  }

  /** The complete lines in `chunk` (with the text left over from earlier chunks). */
  push(chunk: Uint8Array, emit: (line: number, text: string) => void): void {
    this.pending += this.decoder.decode(chunk, { stream: true })
    this.drain(emit)
  }

  /** The last line, when the input does not end with a newline. */
  end(emit: (line: number, text: string) => void): void {
    this.pending += this.decoder.decode()
    this.drain(emit)
    if (this.pending.length > 0) emit(++this.line, this.pending.replace(/\r$/, ''))
    this.pending = ''
  }

  /** The number of the last line emitted. */
  get lines(): number {
    return this.line
  }

  private drain(emit: (line: number, text: string) => void): void {
    const text = this.pending
    let from = 0
    let nl = text.indexOf('\n')
    while (nl !== -1) {
      const end = nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl
      emit(++this.line, text.slice(from, end))
      from = nl + 1
      nl = text.indexOf('\n', from)
    }
    this.pending = from === 0 ? text : text.slice(from)
  }
}
