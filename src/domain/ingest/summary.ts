// What an import reports: rows new, rows changed, lines refused with their reasons. Shared by the
// NDJSON and CSV imports; it does not count anything itself beyond a refused line.
import { MAX_REPORTED_ERRORS } from '../ndjson.ts'

/** What an import did: rows new, rows changed, lines refused (with their reasons). */
export interface ImportSummary {
  inserted: number
  updated: number
  rejected: number
  /** The first rejected lines, `{ line, error }`; `rejected` counts them all. */
  errors: { line: number; error: string }[]
}

export function emptySummary(): ImportSummary {
  return { inserted: 0, updated: 0, rejected: 0, errors: [] }
}

/** Counts a rejected line, keeping the first reasons. */
export function reject(summary: ImportSummary, line: number, error: string): void {
  summary.rejected++
  if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push({ line, error })
}
