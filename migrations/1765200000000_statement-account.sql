-- Up Migration
-- The statement as a true account (docs/architecture.md, "Statement page"). Forward-only.
--
-- 1. ledger.context: what a LibreChat spend was for ('message', 'title', …; NULL for the proxy and LiteLLM).
--    A title generation is a spend of its own and the statement names it ("Título da conversa").
-- 2. limit_versions: the history of each user's limit inputs (effective plan, its period kind, the base limit —
--    override or plan limit — and the personal cap), so a past line's balance uses the limit in force then, and
--    a change of limit is a line of its own. Written by triggers on every input (user_quotas, users_cache roles,
--    plans, role_plans), whoever changes it — the admin API, the CLI, or an operator's raw SQL. Each change first
--    records the state as it was (a 'baseline' version valid since -infinity, once per user), then the new state
--    at solaris_now() when it differs. Only users with history (a ledger row or an adjustment) get versions: for
--    the others there is no past balance to explain, and the current state applies.

ALTER TABLE ledger ADD COLUMN context text CHECK (context IS NULL OR length(context) <= 32);

CREATE TABLE limit_versions (
  seq          bigserial PRIMARY KEY,
  user_id      text NOT NULL,
  valid_from   timestamptz NOT NULL,
  plan_id      text,
  period_kind  text NOT NULL,
  base_lim     bigint NOT NULL,
  personal_cap bigint,
  cause        text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX limit_versions_user ON limit_versions (user_id, valid_from, seq);

-- The time of a change: the engine's clock when it set one for this transaction (set_config('solaris.now', …,
-- true)), else the transaction time. Ledger rows and adjustments carry the engine's clock too.
CREATE FUNCTION solaris_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT COALESCE(NULLIF(current_setting('solaris.now', true), '')::timestamptz, now())
$$;

-- The limit inputs of some users as the tables say now (same rules as solaris_policy_snapshot).
CREATE FUNCTION solaris_limit_state(p_users text[])
RETURNS TABLE (user_id text, plan_id text, period_kind text, base_lim bigint, personal_cap bigint)
LANGUAGE sql STABLE AS $$
  SELECT x.u, pl.id, COALESCE(pl.period, 'month'), COALESCE(uq.limit_override, pl.token_limit, 0)::bigint, uq.personal_cap
  FROM unnest(p_users) x(u)
  LEFT JOIN user_quotas uq ON uq.user_id = x.u
  LEFT JOIN users_cache c ON c.user_id = x.u
  LEFT JOIN role_plans rp ON rp.role = c.role
  LEFT JOIN plans pl ON pl.id = COALESCE(uq.plan_id, rp.plan_id, (SELECT d.id FROM plans d WHERE d.is_default LIMIT 1))
$$;

-- Users whose statement has lines: a ledger row (loose index scan: one probe per distinct user) or an adjustment.
CREATE FUNCTION solaris_users_with_history() RETURNS text[] LANGUAGE sql STABLE AS $$
  WITH RECURSIVE l AS (
    SELECT min(user_id) AS u FROM ledger
    UNION ALL
    SELECT (SELECT min(x.user_id) FROM ledger x WHERE x.user_id > l.u) FROM l WHERE l.u IS NOT NULL
  )
  SELECT COALESCE(array_agg(DISTINCT u), '{}') FROM (
    SELECT u FROM l WHERE u IS NOT NULL UNION SELECT a.user_id FROM adjustments a
  ) s
$$;

CREATE FUNCTION solaris_has_history(p_user text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM ledger l WHERE l.user_id = p_user) OR EXISTS (SELECT 1 FROM adjustments a WHERE a.user_id = p_user)
$$;

-- Before a change: the state as it was, valid since -infinity, for users that have no version yet.
CREATE FUNCTION solaris_limits_baseline(p_users text[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO limit_versions (user_id, valid_from, plan_id, period_kind, base_lim, personal_cap, cause)
  SELECT s.user_id, '-infinity', s.plan_id, s.period_kind, s.base_lim, s.personal_cap, 'baseline'
  FROM solaris_limit_state(p_users) s
  WHERE NOT EXISTS (SELECT 1 FROM limit_versions v WHERE v.user_id = s.user_id)
$$;

-- After a change: a version at solaris_now() for each user whose state differs from the one in force then.
CREATE FUNCTION solaris_limits_record(p_users text[], p_cause text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO limit_versions (user_id, valid_from, plan_id, period_kind, base_lim, personal_cap, cause)
  SELECT s.user_id, solaris_now(), s.plan_id, s.period_kind, s.base_lim, s.personal_cap, p_cause
  FROM solaris_limit_state(p_users) s
  JOIN LATERAL (SELECT v.plan_id, v.period_kind, v.base_lim, v.personal_cap FROM limit_versions v
                WHERE v.user_id = s.user_id AND v.valid_from <= solaris_now() ORDER BY v.valid_from DESC, v.seq DESC LIMIT 1) l ON true
  WHERE (l.plan_id, l.period_kind, l.base_lim, l.personal_cap) IS DISTINCT FROM (s.plan_id, s.period_kind, s.base_lim, s.personal_cap)
$$;

-- user_quotas: one user per row. The cause says which input the admin (or the user) changed.
CREATE FUNCTION solaris_limits_user_before() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  u text := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
  IF solaris_has_history(u) THEN PERFORM solaris_limits_baseline(ARRAY[u]); END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE FUNCTION solaris_limits_user_after() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  u text := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
  cause text := 'limit';
BEGIN
  IF TG_TABLE_NAME = 'users_cache' THEN
    cause := 'role';
  ELSIF TG_OP = 'UPDATE' THEN
    cause := CASE WHEN OLD.limit_override IS DISTINCT FROM NEW.limit_override THEN 'limit'
                  WHEN OLD.plan_id IS DISTINCT FROM NEW.plan_id THEN 'plan'
                  WHEN OLD.personal_cap IS DISTINCT FROM NEW.personal_cap THEN 'personal_cap' ELSE 'limit' END;
  ELSIF TG_OP = 'INSERT' THEN
    cause := CASE WHEN NEW.limit_override IS NOT NULL THEN 'limit' WHEN NEW.plan_id IS NOT NULL THEN 'plan'
                  WHEN NEW.personal_cap IS NOT NULL THEN 'personal_cap' ELSE 'limit' END;
  END IF;
  IF EXISTS (SELECT 1 FROM limit_versions v WHERE v.user_id = u) THEN PERFORM solaris_limits_record(ARRAY[u], cause); END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER limit_versions_user_quotas_before BEFORE INSERT OR UPDATE OR DELETE ON user_quotas
  FOR EACH ROW EXECUTE FUNCTION solaris_limits_user_before();
CREATE TRIGGER limit_versions_user_quotas_after AFTER INSERT OR UPDATE OR DELETE ON user_quotas
  FOR EACH ROW EXECUTE FUNCTION solaris_limits_user_after();
-- users_cache is touched on every visit: only a role that changes (or a first sight) can move the plan.
CREATE TRIGGER limit_versions_users_role_before BEFORE UPDATE OF role ON users_cache
  FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION solaris_limits_user_before();
CREATE TRIGGER limit_versions_users_role_after AFTER UPDATE OF role ON users_cache
  FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION solaris_limits_user_after();
CREATE TRIGGER limit_versions_users_insert_before BEFORE INSERT ON users_cache
  FOR EACH ROW WHEN (NEW.role IS NOT NULL) EXECUTE FUNCTION solaris_limits_user_before();
CREATE TRIGGER limit_versions_users_insert_after AFTER INSERT ON users_cache
  FOR EACH ROW WHEN (NEW.role IS NOT NULL) EXECUTE FUNCTION solaris_limits_user_after();

-- plans and role_plans: any user may be affected (a plan's limit, the default plan, a role's plan).
CREATE FUNCTION solaris_limits_all_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM solaris_limits_baseline(solaris_users_with_history());
  RETURN NULL;
END $$;

CREATE FUNCTION solaris_limits_all_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM solaris_limits_record(ARRAY(SELECT DISTINCT v.user_id FROM limit_versions v),
                                CASE WHEN TG_TABLE_NAME = 'role_plans' THEN 'role_plan' ELSE 'plan_limit' END);
  RETURN NULL;
END $$;

CREATE TRIGGER limit_versions_plans_before BEFORE INSERT OR UPDATE OR DELETE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_limits_all_before();
CREATE TRIGGER limit_versions_plans_after AFTER INSERT OR UPDATE OR DELETE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_limits_all_after();
CREATE TRIGGER limit_versions_role_plans_before BEFORE INSERT OR UPDATE OR DELETE ON role_plans
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_limits_all_before();
CREATE TRIGGER limit_versions_role_plans_after AFTER INSERT OR UPDATE OR DELETE ON role_plans
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_limits_all_after();

-- A period key's bounds, from the key alone ('YYYY-MM' month, 'IYYY-"W"IW' ISO week, 'YYYY-MM-DD' day).
CREATE FUNCTION solaris_key_kind(p_key text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_key ~ '^\d{4}-\d{2}$' THEN 'month' WHEN p_key ~ '^\d{4}-W\d{2}$' THEN 'week' ELSE 'day' END
$$;
CREATE FUNCTION solaris_key_start(p_key text, p_tz text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT (CASE solaris_key_kind(p_key)
            WHEN 'month' THEN to_date(p_key || '-01', 'YYYY-MM-DD')
            WHEN 'week' THEN to_date(p_key, 'IYYY-"W"IW')
            ELSE to_date(p_key, 'YYYY-MM-DD') END)::timestamp AT TIME ZONE p_tz
$$;
CREATE FUNCTION solaris_key_end(p_key text, p_tz text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT solaris_period_end(solaris_key_kind(p_key), solaris_key_start(p_key, p_tz), p_tz)
$$;

-- 3. The Postgres store's settle records the context too (a new parameter: the old signature is dropped).
DROP FUNCTION solaris_quota_settle(text, text, text, bigint, bigint, bigint, numeric, text, boolean, text, text, timestamptz, timestamptz, text);
CREATE FUNCTION solaris_quota_settle(p_user text, p_request text, p_model text, p_prompt bigint, p_completion bigint,
                                     p_weighted bigint, p_cost numeric, p_source text, p_estimated boolean,
                                     p_conversation text, p_message text, p_occurred timestamptz, p_now timestamptz, p_tz text,
                                     p_context text)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[], reserved bigint, l_seq bigint, l_period_key text, l_cost numeric)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  s quota_counters;
  v_pk text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:' || p_user, 0));
  s := solaris_counter(p_user, p_now, p_tz);
  v_pk := CASE WHEN p_occurred >= s.ps AND p_occurred < s.pe THEN s.pk ELSE solaris_period_key(s.kind, p_occurred, p_tz) END;
  -- This insert moves the counter itself (below): the ledger trigger must not drop it.
  PERFORM set_config('solaris.counter_writer', 'on', true);
  INSERT INTO ledger (request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost,
                      source, estimated, conversation_id, message_id, period_key, created_at, context)
  VALUES (p_request, p_user, p_model, p_prompt, p_completion, p_prompt + p_completion, p_weighted, p_cost, p_source,
          p_estimated, p_conversation, p_message, v_pk, p_occurred, p_context)
  ON CONFLICT (request_id) DO NOTHING
  RETURNING ledger.seq, ledger.period_key, ledger.cost INTO l_seq, l_period_key, l_cost;
  PERFORM set_config('solaris.counter_writer', '', true);
  -- One statement: drop this request's hold and sum the others still open (the SELECT sees the table as before
  -- the DELETE: the dropped amount is subtracted).
  WITH dropped AS (DELETE FROM quota_reservations q WHERE q.request_id = p_request AND q.user_id = p_user RETURNING q.amount, q.expires_at)
  SELECT COALESCE(sum(q.amount), 0)::bigint
         - COALESCE((SELECT sum(d.amount) FROM dropped d WHERE d.expires_at > p_now), 0)::bigint
    INTO reserved FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at > p_now;
  -- Counted exactly when the snapshot's ledger sum would count it: inserted, same period, after the last reset.
  IF l_seq IS NOT NULL AND v_pk = s.pk AND (s.last_reset IS NULL OR p_occurred > s.last_reset) THEN
    UPDATE quota_counters q SET used = q.used + p_weighted WHERE q.user_id = p_user;
    s.used := s.used + p_weighted;
  END IF;
  plan_id := s.plan_id; kind := s.kind; lim := s.lim; base_lim := s.base_lim; personal_cap := s.personal_cap;
  warn_percent := s.warn_percent; pk := s.pk; ps := s.ps; pe := s.pe; last_reset := s.last_reset; granted := s.granted;
  next_expiry := s.next_expiry; used := s.used; fired := s.fired; recent := '{}';
  RETURN NEXT;
END $$;


-- 4. Notices that survive being offline: a decision on a quota request, a grant, a reset — delivered at the
--    user's next visit until they see it (GET /me/notices, POST /me/notices/seen), pushed live when online.
CREATE TABLE user_notices (
  id         bigserial PRIMARY KEY,
  user_id    text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
  kind       text NOT NULL CHECK (kind IN ('request_decided', 'grant', 'reset')),
  payload    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  seen_at    timestamptz
);
CREATE INDEX user_notices_unseen ON user_notices (user_id, id) WHERE seen_at IS NULL;
