/**
 * Ordered schema migrations. Each runs once, in a transaction, at start-up; `PRAGMA user_version`
 * records the last one applied. Never edit a released migration: add the next one.
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'core schema',
    sql: `
CREATE TABLE stores (
  id INTEGER PRIMARY KEY,
  tracking_id TEXT NOT NULL UNIQUE,
  -- bumped by every write of sessions or orders; sync records remember the value they saw
  data_revision INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE store_settings (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (store_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY,
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('export', 'ingest')),
  prefix TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
) STRICT;
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (store_id, name) WHERE revoked_at IS NULL;

CREATE TABLE visitors (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  PRIMARY KEY (store_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  visitor_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  pageviews INTEGER NOT NULL CHECK (pageviews >= 0),
  device TEXT NOT NULL CHECK (device IN ('desktop', 'mobile', 'tablet')),
  source TEXT NOT NULL CHECK (source IN ('direct', 'organic', 'paid', 'referral')),
  landing_page TEXT NOT NULL,
  viewed_product INTEGER NOT NULL CHECK (viewed_product IN (0, 1)),
  added_to_cart INTEGER NOT NULL CHECK (added_to_cart IN (0, 1)),
  reached_checkout INTEGER NOT NULL CHECK (reached_checkout IN (0, 1)),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (store_id, id),
  CHECK (ended_at >= started_at)
) STRICT;
CREATE INDEX sessions_by_start ON sessions (store_id, started_at);
CREATE INDEX sessions_by_visitor ON sessions (store_id, visitor_id, started_at);

CREATE TABLE orders (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  name TEXT,
  created_at INTEGER NOT NULL,
  -- hundredths of the currency unit
  total_price_cents INTEGER NOT NULL,
  currency TEXT,
  financial_status TEXT,
  cancelled_at INTEGER,
  test INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1)),
  session_id TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (store_id, id)
) STRICT;
CREATE INDEX orders_by_created ON orders (store_id, created_at);
CREATE INDEX orders_by_session ON orders (store_id, session_id) WHERE session_id IS NOT NULL;

-- Which hours (UTC, epoch hour) had their sessions or orders changed, and at which revision.
CREATE TABLE data_changes (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  hour INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (store_id, hour)
) STRICT, WITHOUT ROWID;

CREATE TABLE sync_records (
  id INTEGER PRIMARY KEY,
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  frequency TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  period_label TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('success', 'failed')),
  trigger TEXT NOT NULL CHECK (trigger IN ('api', 'cli', 'scheduler')),
  body TEXT,
  etag TEXT,
  error TEXT,
  data_revision INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  synced_at INTEGER NOT NULL,
  UNIQUE (store_id, frequency, period_start)
) STRICT;

CREATE TABLE sync_requests (
  id INTEGER PRIMARY KEY,
  store_id INTEGER REFERENCES stores(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  key_id INTEGER REFERENCES api_keys(id) ON DELETE SET NULL,
  address TEXT,
  status INTEGER NOT NULL,
  duration_ms REAL NOT NULL,
  error TEXT
) STRICT;
CREATE INDEX sync_requests_recent ON sync_requests (store_id, at);
`,
  },
]
