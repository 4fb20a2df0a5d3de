/**
 * Orders strings by their UTF-8 bytes, as SQLite's BINARY collation (and PostgreSQL's `COLLATE
 * "C"`) does: ties and orders come out the same on both engines and in JavaScript.
 */
export function byteOrder(a: string, b: string): number {
  if (a === b) return 0
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}
