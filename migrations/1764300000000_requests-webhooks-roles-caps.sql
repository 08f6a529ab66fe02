-- Up Migration
-- Plans by LibreChat role, personal caps, quota requests, signed webhooks. Forward-only.

-- ---------- plans by role ----------
-- A default plan per LibreChat role (USER, ADMIN, custom roles). A per-user plan still wins.
CREATE TABLE role_plans (
  role       text PRIMARY KEY CHECK (length(role) BETWEEN 1 AND 100),
  plan_id    text NOT NULL REFERENCES plans(id),
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The one definition of "which plan is this user on": their own assignment, else their role's plan,
-- else the default plan. Every query that needs the plan (policy snapshot, ledger period key, admin
-- lists) calls this, so they cannot disagree. Plain SQL, STABLE: the planner inlines it as a subquery.
CREATE FUNCTION solaris_effective_plan(user_id text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT COALESCE(
    (SELECT uq.plan_id FROM user_quotas uq WHERE uq.user_id = $1),
    (SELECT rp.plan_id FROM users_cache c JOIN role_plans rp ON rp.role = c.role WHERE c.user_id = $1),
    (SELECT p.id FROM plans p WHERE p.is_default LIMIT 1))
$$;

-- ---------- personal caps (LibreChat issue #15029) ----------
-- Set by the user themself: a cap below their quota and their own warning percentage.
ALTER TABLE user_quotas
  ADD COLUMN personal_cap bigint CHECK (personal_cap >= 0),
  ADD COLUMN warn_percent integer CHECK (warn_percent BETWEEN 1 AND 99);

-- ---------- quota requests ----------
-- Optional auto-approval: requests up to N tokens are granted at once, once per user and period.
ALTER TABLE plans ADD COLUMN auto_approve_tokens bigint CHECK (auto_approve_tokens > 0);

CREATE TABLE quota_requests (
  id               bigserial PRIMARY KEY,
  user_id          text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
  tokens           bigint NOT NULL CHECK (tokens > 0),
  reason           text CHECK (length(reason) <= 500),
  period_key       text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'cancelled')),
  auto_approved    boolean NOT NULL DEFAULT false,
  granted_tokens   bigint CHECK (granted_tokens > 0),
  grant_expires_at timestamptz,
  decision_message text CHECK (length(decision_message) <= 500),
  decided_by       text,
  decided_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
-- One open request per user.
CREATE UNIQUE INDEX quota_requests_one_open ON quota_requests (user_id) WHERE status = 'pending';
CREATE INDEX quota_requests_user ON quota_requests (user_id, created_at DESC);
CREATE INDEX quota_requests_pending ON quota_requests (created_at) WHERE status = 'pending';
-- "Once per period": at most one auto-approved request per user and period.
CREATE UNIQUE INDEX quota_requests_one_auto ON quota_requests (user_id, period_key) WHERE auto_approved;

-- ---------- webhooks ----------
CREATE TABLE webhook_endpoints (
  id         text PRIMARY KEY,
  name       text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  url        text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
  secret     text NOT NULL,
  events     text[] NOT NULL DEFAULT '{}', -- empty = every event
  format     text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
  active     boolean NOT NULL DEFAULT true,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Durable outbox: one row per (event, endpoint). endpoint_id is a webhook_endpoints id or the id of an
-- endpoint configured in SOLARIS_WEBHOOK_URLS (not stored here, so its secret never reaches the database).
CREATE TABLE webhook_outbox (
  id              bigserial PRIMARY KEY,
  event_id        uuid NOT NULL,
  endpoint_id     text NOT NULL,
  event_type      text NOT NULL,
  payload         jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE webhook_deliveries (
  id          bigserial PRIMARY KEY,
  outbox_id   bigint NOT NULL,
  endpoint_id text NOT NULL,
  event_id    uuid NOT NULL,
  event_type  text NOT NULL,
  attempt     integer NOT NULL,
  status_code integer,
  ok          boolean NOT NULL,
  error       text,
  duration_ms integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- "Fire once" markers shared by replicas: organisation usage levels per month, daily digests.
CREATE TABLE webhook_markers (
  key        text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
