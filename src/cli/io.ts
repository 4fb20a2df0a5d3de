/** Where a command reads and writes; tests pass buffers, `main` the process streams. */
export interface Io {
  out(text: string): void
  err(text: string): void
  stdin: () => ReadableStream<Uint8Array>
  /** True when stderr is a terminal (progress bars go there). */
  isTTY: boolean
  env: Record<string, string | undefined>
  cwd: string
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    stdin: () => Bun.stdin.stream(),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
  }
}

/** A usage mistake: the message is printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {}

/** A command that cannot go on as asked: its message alone is printed, and it exits 2. */
export class RefusedError extends Error {}
