// A thread of its own that moves the WAL into the database file, so that no request waits for a
// checkpoint (and its fsyncs) on the server's thread. Started by startCheckpointer.
import { Database } from 'bun:sqlite'

declare const self: Worker

interface Start {
  path: string
  intervalMs: number
}

let db: Database | null = null
let timer: Timer | null = null

function checkpoint(): void {
  try {
    // PASSIVE: copies what no reader still needs, never blocks the server's reads or writes.
    db?.query('PRAGMA wal_checkpoint(PASSIVE)').get()
  } catch (err) {
    postMessage({ type: 'error', message: (err as Error).message })
  }
}

self.onmessage = (event: MessageEvent<Start | 'stop'>) => {
  if (event.data === 'stop') {
    if (timer) clearInterval(timer)
    checkpoint()
    db?.close()
    db = null
    postMessage({ type: 'stopped' })
    return
  }
  db = new Database(event.data.path)
  db.exec('PRAGMA busy_timeout = 5000')
  timer = setInterval(checkpoint, event.data.intervalMs)
  postMessage({ type: 'ready' })
}
