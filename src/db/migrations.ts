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
  {
    version: 2,
    name: 'admin accounts, login sessions and setup tokens',
    sql: `
CREATE TABLE admins (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  -- Bun.password (argon2id) PHC string
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- A logged-in browser. Only the SHA-256 of the cookie's token is stored.
CREATE TABLE admin_sessions (
  token_hash TEXT PRIMARY KEY,
  admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX admin_sessions_by_admin ON admin_sessions (admin_id);

-- One-time links that let the first admin be created; only the SHA-256 is stored.
CREATE TABLE setup_tokens (
  token_hash TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) STRICT, WITHOUT ROWID;
`,
  },
  {
    version: 3,
    name: 'notification outbox and scheduler claims',
    sql: `
-- One notification email per (store, frequency, period, outcome), written in the sync's transaction.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  frequency TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
  period_start INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failed')),
  period_label TEXT NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  -- what the email says (JSON); the body is rendered when sent, with the current base URL
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unsendable')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  smtp_response TEXT,
  next_attempt_at INTEGER NOT NULL,
  -- a sender holding the row until lease_until; an expired lease means its sender died
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  UNIQUE (store_id, frequency, period_start, outcome)
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recent ON outbox (store_id, created_at);

-- The scheduler's claim on a period, so two processes never sync it twice.
CREATE TABLE sync_claims (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  frequency TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
  period_start INTEGER NOT NULL,
  owner TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  done_at INTEGER,
  last_error TEXT,
  PRIMARY KEY (store_id, frequency, period_start)
) STRICT, WITHOUT ROWID;
`,
  },
  {
    version: 4,
    name: 'shopify webhook deliveries',
    sql: `
-- Shopify webhook deliveries seen, to apply a retried delivery once and skip out-of-order ones.
CREATE TABLE webhook_deliveries (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  webhook_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  order_id TEXT,
  -- the order's own updated_at (epoch ms), to ignore a delivery older than one already applied
  order_updated_at INTEGER,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (store_id, webhook_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX webhook_deliveries_by_order ON webhook_deliveries (store_id, order_id, order_updated_at);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (store_id, received_at);
`,
  },
  {
    version: 5,
    name: 'audit log',
    sql: `
-- Who did what to keys, settings and admins, and who logged in (or failed to). Never secret values.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  store_id INTEGER REFERENCES stores(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  -- an admin's email, "cli", "environment" (start-up from MIDA_ADMIN_*), or "api key <prefix>"
  actor TEXT NOT NULL,
  address TEXT,
  action TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_recent ON audit_log (store_id, at);
`,
  },
  {
    version: 6,
    name: 'new visitors counted from each visitor first session',
    sql: `
-- Rebuilt exactly: first_seen_at is the start of the visitor's first session, last_seen_at the end
-- of their last, so "new visitors of a period" is a range count on this index.
DELETE FROM visitors;
INSERT INTO visitors (store_id, id, first_seen_at, last_seen_at)
  SELECT store_id, visitor_id, min(started_at), max(ended_at) FROM sessions GROUP BY store_id, visitor_id;
CREATE INDEX visitors_by_first_seen ON visitors (store_id, first_seen_at);
`,
  },
  {
    version: 7,
    name: 'a visitor sessions index that covers their span',
    sql: `
-- With ended_at in the index, a visitor's first and last moments are read from the index alone:
-- the visitors rebuild after a first load is one ordered pass, not a table lookup per session.
DROP INDEX sessions_by_visitor;
CREATE INDEX sessions_by_visitor ON sessions (store_id, visitor_id, started_at, ended_at);
`,
  },
  {
    version: 8,
    name: 'repeated refusals counted in one log row',
    sql: `
-- A flood of refused calls or logins (429 of a throttle) is one row per address and throttle
-- window, counted, instead of a row per refusal; the row's time is the first refusal's.
ALTER TABLE sync_requests ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
-- The latest entry of an address, to extend its refusal row; and the retention's pruning by age.
CREATE INDEX audit_log_by_address ON audit_log (store_id, address);
CREATE INDEX audit_log_by_time ON audit_log (at);
`,
  },
  {
    version: 9,
    name: 'a period of sessions read from one index, in any arrival order',
    sql: `
-- Every column a period's metrics read, in the index on start time: a sync reads one contiguous
-- run of this index however the sessions arrived, instead of one table lookup per session
-- (sessions imported out of time order lie scattered over the table). The price is the disk
-- space of a second copy of those columns.
DROP INDEX sessions_by_start;
CREATE INDEX sessions_by_start ON sessions (store_id, started_at, visitor_id, landing_page,
  pageviews, ended_at, device, source, viewed_product, added_to_cart, reached_checkout, id);
`,
  },
  {
    version: 10,
    name: 'failed-attempt throttles shared by the nodes of one database',
    sql: `
-- Failed API-key attempts and logins per client address, counted in the database when several
-- nodes share it (PostgreSQL): an address cannot multiply its allowance by the number of nodes.
-- One window per (throttle, address): it starts at the first failure and lasts the throttle's
-- window. A single SQLite process keeps these counts in memory and leaves the table empty.
CREATE TABLE throttle_windows (
  throttle TEXT NOT NULL,
  key TEXT NOT NULL,
  since INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (throttle, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX throttle_windows_by_age ON throttle_windows (since);
`,
  },
  {
    version: 11,
    name: 'stores with slugs, and admins limited to some stores',
    sql: `
-- Each store is named in URLs and on the command line by its slug. The store an existing
-- installation has (the first) becomes "default"; any other gets "store-<id>".
ALTER TABLE stores ADD COLUMN slug TEXT NOT NULL DEFAULT '';
UPDATE stores SET slug = CASE WHEN id = (SELECT min(id) FROM stores) THEN 'default'
  ELSE 'store-' || id END;
CREATE UNIQUE INDEX stores_by_slug ON stores (slug);
-- An admin sees every store (all_stores = 1) or only the stores listed in admin_stores; a limited
-- admin whose stores are all deleted sees none.
ALTER TABLE admins ADD COLUMN all_stores INTEGER NOT NULL DEFAULT 1 CHECK (all_stores IN (0, 1));
CREATE TABLE admin_stores (
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
  PRIMARY KEY (store_id, admin_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX admin_stores_by_admin ON admin_stores (admin_id);
`,
  },
  {
    version: 12,
    name: 'the call log by key, for deleting a store',
    sql: `
-- Deleting a store deletes its keys, and each key's calls in the log lose it (ON DELETE SET NULL):
-- without this index, one scan of the whole call log per key.
CREATE INDEX sync_requests_by_key ON sync_requests (key_id) WHERE key_id IS NOT NULL;
`,
  },
  {
    version: 13,
    name: 'report keys, keys that expire, and a grace period after a regeneration',
    sql: `
-- A key of scope 'report' reads reports and nothing else (spreadsheet links); expires_at ends any
-- key at that instant; a regenerated key's revoked_at may lie in the future: it answers until then
-- (the grace period). SQLite cannot change a CHECK in place, so the table is rebuilt with its ids;
-- dropping the old table sets the call log's references to NULL (ON DELETE SET NULL), so they are
-- kept aside and put back.
CREATE TABLE api_keys_new (
  id INTEGER PRIMARY KEY,
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('export', 'ingest', 'report')),
  prefix TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER,
  expires_at INTEGER
) STRICT;
INSERT INTO api_keys_new (id, store_id, name, scope, prefix, key_hash, created_at, last_used_at,
    revoked_at)
  SELECT id, store_id, name, scope, prefix, key_hash, created_at, last_used_at, revoked_at
  FROM api_keys;
CREATE TEMP TABLE calls_by_key AS SELECT id, key_id FROM sync_requests WHERE key_id IS NOT NULL;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (store_id, name) WHERE revoked_at IS NULL;
UPDATE sync_requests SET key_id = (SELECT c.key_id FROM calls_by_key c WHERE c.id = sync_requests.id)
  WHERE id IN (SELECT id FROM calls_by_key);
DROP TABLE calls_by_key;
`,
  },
  {
    version: 14,
    name: 'destinations, delivered through the outbox beside the emails',
    sql: `
-- Where a store's syncs are pushed: a signed webhook or a Slack-compatible incoming webhook. The
-- URL and the signing secret are stored sealed (MIDA_SECRET_KEY), as the SMTP password is.
CREATE TABLE destinations (
  id INTEGER PRIMARY KEY,
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('webhook', 'slack')),
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  -- what the page shows of the URL: scheme, host and the start of the path
  url_hint TEXT NOT NULL,
  secret TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX destinations_by_store ON destinations (store_id, id);

-- The outbox carries emails (destination_id NULL) and deliveries to destinations. Its rows are
-- told apart by kind: a sync's outcome, a key about to expire, a destination's test. One row per
-- (store, dedupe): the same sync queues one email per outcome and one delivery per destination.
-- SQLite cannot drop the old UNIQUE constraint, so the table is rebuilt with its ids.
CREATE TABLE outbox_new (
  id INTEGER PRIMARY KEY,
  store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
  destination_id INTEGER REFERENCES destinations(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('sync', 'key_expiry', 'test')),
  dedupe TEXT NOT NULL,
  frequency TEXT CHECK (frequency IN ('daily', 'weekly')),
  period_start INTEGER,
  outcome TEXT CHECK (outcome IN ('success', 'failed')),
  period_label TEXT,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unsendable')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  -- the SMTP server's answer, or the destination's HTTP status line
  smtp_response TEXT,
  next_attempt_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  UNIQUE (store_id, dedupe)
) STRICT;
INSERT INTO outbox_new (id, store_id, destination_id, kind, dedupe, frequency, period_start,
    outcome, period_label, recipient, subject, payload, status, attempts, last_error,
    smtp_response, next_attempt_at, lease_owner, lease_until, created_at, sent_at)
  SELECT id, store_id, NULL, 'sync',
    'email:sync:' || frequency || ':' || period_start || ':' || outcome, frequency, period_start,
    outcome, period_label, recipient, subject, payload, status, attempts, last_error,
    smtp_response, next_attempt_at, lease_owner, lease_until, created_at, sent_at
  FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recent ON outbox (store_id, created_at);
CREATE INDEX outbox_by_destination ON outbox (destination_id, created_at)
  WHERE destination_id IS NOT NULL;
`,
  },
]
