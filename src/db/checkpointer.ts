import type { Database } from 'bun:sqlite'

/** How often the background thread checkpoints the WAL. */
const CHECKPOINT_INTERVAL_MS = 1000

export interface Checkpointer {
  /** True when a background thread checkpoints; false when SQLite's automatic ones remain. */
  background: boolean
  stop(): Promise<void>
}

/**
 * The worker's module: beside this file when run from source; inside a compiled executable every
 * module reports the executable's root as its URL, and entrypoints keep their path under src/.
 */
function workerUrl(): string {
  const here = import.meta.url
  return here.includes('/$bunfs/')
    ? new URL('./db/checkpointWorker.ts', here).href
    : new URL('./checkpointWorker.ts', here).href
}

/**
 * Moves WAL checkpoints off the server's thread: automatic checkpoints are switched off on `db`
 * and a worker thread runs a passive one every second. Should the worker not start, automatic
 * checkpoints stay on and nothing else changes.
 */
export async function startCheckpointer(db: Database): Promise<Checkpointer> {
  const fallback: Checkpointer = { background: false, stop: async () => {} }
  if (db.filename === ':memory:' || db.filename === '') return fallback
  let worker: Worker
  try {
    worker = new Worker(workerUrl())
  } catch {
    return fallback
  }
  const ready = await new Promise<boolean>((resolve) => {
    const timeout = setTimeout(() => resolve(false), 5000)
    worker.onmessage = (event: MessageEvent<{ type: string }>) => {
      if (event.data.type === 'ready') {
        clearTimeout(timeout)
        resolve(true)
      }
    }
    worker.onerror = () => {
      clearTimeout(timeout)
      resolve(false)
    }
    worker.postMessage({ path: db.filename, intervalMs: CHECKPOINT_INTERVAL_MS })
  })
  if (!ready) {
    worker.terminate()
    return fallback
  }
  db.exec('PRAGMA wal_autocheckpoint = 0')
  ;(worker as unknown as { unref(): void }).unref()
  return {
    background: true,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          worker.terminate()
          db.exec('PRAGMA wal_autocheckpoint = 1000')
          resolve()
        }
        const timeout = setTimeout(done, 5000)
        worker.onmessage = (event: MessageEvent<{ type: string }>) => {
          if (event.data.type === 'stopped') {
            clearTimeout(timeout)
            done()
          }
        }
        worker.postMessage('stop')
      }),
  }
}
