-- Up Migration
-- Solaris Token Control: initial schema. Forward-only (no Down section on purpose).

-- Calendar periods in a time zone. SQL is the single definition: the ledger, the counter rebuild and
-- the Postgres store all derive period keys and bounds from these, so they can never disagree.
-- (Self-contained bodies: callers may have another schema on search_path.)
CREATE FUNCTION solaris_period_start(kind text, ts timestamptz, tz text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT date_trunc(CASE kind WHEN 'month' THEN 'month' WHEN 'week' THEN 'week' ELSE 'day' END, ts AT TIME ZONE tz) AT TIME ZONE tz
$$;
CREATE FUNCTION solaris_period_end(kind text, ts timestamptz, tz text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT (date_trunc(CASE kind WHEN 'month' THEN 'month' WHEN 'week' THEN 'week' ELSE 'day' END, ts AT TIME ZONE tz)
          + CASE kind WHEN 'month' THEN interval '1 month' WHEN 'week' THEN interval '1 week' ELSE interval '1 day' END)
         AT TIME ZONE tz
$$;
CREATE FUNCTION solaris_period_key(kind text, ts timestamptz, tz text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(ts AT TIME ZONE tz,
                 CASE kind WHEN 'month' THEN 'YYYY-MM' WHEN 'week' THEN 'IYYY-"W"IW' ELSE 'YYYY-MM-DD' END)
$$;

CREATE TABLE plans (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  token_limit bigint NOT NULL CHECK (token_limit >= 0),
  period      text NOT NULL DEFAULT 'month' CHECK (period IN ('month', 'week', 'day')),
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one default plan.
CREATE UNIQUE INDEX plans_one_default ON plans ((true)) WHERE is_default;
INSERT INTO plans (id, name, token_limit, period, is_default) VALUES ('padrao', 'Padrão', 100000, 'month', true);

-- LibreChat owns users (Mongo); user ids are LibreChat's ObjectId strings.
CREATE TABLE user_quotas (
  user_id        text PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 128),
  plan_id        text REFERENCES plans(id),
  limit_override bigint CHECK (limit_override >= 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users_cache (
  user_id      text PRIMARY KEY,
  email        text,
  name         text,
  role         text,
  last_seen_at timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_cache_email ON users_cache (lower(email));

-- Append-only ledger: one row per metered request; request_id is the idempotency key.
CREATE TABLE ledger (
  seq               bigserial PRIMARY KEY,
  request_id        text NOT NULL UNIQUE CHECK (length(request_id) BETWEEN 1 AND 200),
  user_id           text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
  model             text NOT NULL,
  prompt_tokens     bigint NOT NULL CHECK (prompt_tokens >= 0),
  completion_tokens bigint NOT NULL CHECK (completion_tokens >= 0),
  total_tokens      bigint NOT NULL CHECK (total_tokens >= 0),
  weighted_tokens   bigint NOT NULL CHECK (weighted_tokens >= 0),
  cost              numeric(20, 10) NOT NULL DEFAULT 0 CHECK (cost >= 0),
  source            text NOT NULL CHECK (source IN ('proxy', 'librechat', 'litellm')),
  estimated         boolean NOT NULL DEFAULT false,
  conversation_id   text,
  message_id        text,
  period_key        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
-- "This user's statement, newest first", keyset-paginated on (created_at, seq).
CREATE INDEX ledger_user_statement ON ledger (user_id, created_at DESC, seq DESC);
-- Period sums (counter rebuild, balance-after) without touching the heap.
CREATE INDEX ledger_user_period ON ledger (user_id, period_key, seq) INCLUDE (weighted_tokens, created_at);
CREATE INDEX ledger_created_at ON ledger (created_at);
CREATE OR REPLACE FUNCTION solaris_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger is append-only';
END $$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION solaris_ledger_append_only();

-- Grants (+tokens for the period they were made in, optional expiry) and resets.
CREATE TABLE adjustments (
  id         bigserial PRIMARY KEY,
  user_id    text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('grant', 'reset')),
  tokens     bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
  period_key text NOT NULL,
  reason     text CHECK (length(reason) <= 500),
  expires_at timestamptz,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX adjustments_user_period ON adjustments (user_id, period_key, kind);

-- Each threshold alert fires once per user, period and threshold.
CREATE TABLE threshold_notifications (
  user_id    text NOT NULL,
  period_key text NOT NULL,
  threshold  integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, period_key, threshold)
);

CREATE TABLE audit_log (
  id             bigserial PRIMARY KEY,
  actor_id       text NOT NULL,
  actor_email    text,
  action         text NOT NULL,
  target_user_id text,
  details        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created ON audit_log (created_at DESC, id DESC);

-- PostgresQuotaStore reservations (the Redis store keeps them in Redis).
CREATE TABLE quota_reservations (
  request_id text PRIMARY KEY,
  user_id    text NOT NULL,
  amount     bigint NOT NULL CHECK (amount >= 0),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quota_reservations_user ON quota_reservations (user_id, expires_at);
