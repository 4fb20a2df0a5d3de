// Migration 9 (every metric column in sessions_by_start) on the 10 M-session bench store: the
// store is put back to schema 8 (its old index on start time), then opened, which migrates it.
// The time is what an existing installation of that size waits once, at its first start.
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { DATABASE_FILE, openDatabase } from '../src/db/database.ts'
import { benchStore } from './sync.ts'

const total = Number(process.env.BENCH_MIGRATE_SIZE ?? 10_000_000)
const { db } = await benchStore(total)
const dir = join(db.filename, '..')
db.close()

// Schema 8 as migration 1 left it: an index on (store_id, started_at) only.
const old = new Database(join(dir, DATABASE_FILE))
console.log(`putting the ${total}-session store back to schema 8 …`)
old.exec(`BEGIN;
  DROP INDEX sessions_by_start;
  CREATE INDEX sessions_by_start ON sessions (store_id, started_at);
  PRAGMA user_version = 8;
  COMMIT;
  PRAGMA wal_checkpoint(TRUNCATE);`)
old.close()
Bun.gc(true)

const started = performance.now()
const migrated = openDatabase(dir, { secretKey: undefined })
const seconds = (performance.now() - started) / 1000
const version = migrated.query<{ user_version: number }, []>('PRAGMA user_version').get()!
migrated.close()
if (version.user_version < 9) throw new Error('the store was not migrated')
console.log(
  `INFO  ${`migration 9 on a store of ${total} sessions`.padEnd(52)} ${`${seconds.toFixed(1)} s`.padEnd(24)} no target: README says how long`,
)
