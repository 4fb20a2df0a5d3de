import { SESSION_ROW_FIELDS } from '../db/sessions.ts'
import { LineSplitter } from '../lib/lines.ts'
import {
  describeIssues,
  type OrderRecord,
  orderInput,
  type SessionRecord,
  sessionInput,
} from './records.ts'

export type RecordKind = 'sessions' | 'orders'

/** How many rejected lines an import describes (and a parsed chunk); the rest are only counted. */
export const MAX_REPORTED_ERRORS = 100

/** The records of one chunk of NDJSON, and the lines refused with their reasons. */
export interface ParsedChunk {
  records: (SessionRecord | OrderRecord)[]
  rejected: number
  /** The first rejected lines of the chunk, `{ line, error }`. */
  errors: { line: number; error: string }[]
  /** The number of the last line read so far (counting from 1). */
  lines: number
}

/**
 * Turns NDJSON bytes into validated records, chunk by chunk: each line is checked on its own,
 * blank lines are skipped, a bad line is counted and described by its number.
 */
export class NdjsonParser {
  private readonly lines: LineSplitter
  private readonly schema

  /** `keepBOM`: parsing a block from inside an input, whose leading BOM was dropped before. */
  constructor(kind: RecordKind, { keepBOM = false }: { keepBOM?: boolean } = {}) {
    this.schema = kind === 'sessions' ? sessionInput : orderInput
    this.lines = new LineSplitter({ keepBOM })
  }

  /** The records of the complete lines so far. */
  push(chunk: Uint8Array): ParsedChunk {
    const out = emptyChunk()
    this.lines.push(chunk, (line, text) => this.parseLine(line, text, out))
    out.lines = this.lines.lines
    return out
  }

  /** The records of the last line (input without a final newline). */
  end(): ParsedChunk {
    const out = emptyChunk()
    this.lines.end((line, text) => this.parseLine(line, text, out))
    out.lines = this.lines.lines
    return out
  }

  private parseLine(line: number, text: string, out: ParsedChunk): void {
    if (text.trim() === '') return
    const fail = (error: string) => {
      out.rejected++
      if (out.errors.length < MAX_REPORTED_ERRORS) out.errors.push({ line, error })
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      fail('not valid JSON')
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail('must be a JSON object')
      return
    }
    const parsed = this.schema.safeParse(value)
    if (parsed.success) out.records.push(parsed.data)
    else fail(describeIssues(parsed.error, value))
  }
}

function emptyChunk(): ParsedChunk {
  return { records: [], rejected: 0, errors: [], lines: 0 }
}

/**
 * Sessions as one flat JSON array: SESSION_ROW_FIELDS' values of the first session, then of the
 * second, and so on; flags as 0 or 1, as they are stored.
 */
export function sessionRows(sessions: SessionRecord[]): string {
  const values: (string | number)[] = []
  for (const s of sessions) {
    for (const field of SESSION_ROW_FIELDS) {
      const value = s[field]
      values.push(typeof value === 'boolean' ? Number(value) : value)
    }
  }
  return JSON.stringify(values)
}
