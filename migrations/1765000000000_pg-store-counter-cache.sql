-- Up Migration
-- Postgres store: a per-user counter row instead of a full policy snapshot on every step (issue 2:
-- ≥ 2,000 reserve+settle decisions/s). Before, reserve and settle each ran solaris_policy_snapshot — plan,
-- grants, last reset, thresholds and the period's ledger sum — whose executor start-up alone was ~22 % of
-- Postgres's CPU, and whose ledger sum grew with the user's requests in the period (1,750–1,880 decisions/s
-- on an empty ledger, 1,274 after 100 rows per user).
--
-- quota_counters holds the snapshot of each active user, the way Redis holds its counters:
--   * built from solaris_policy_snapshot under the user's advisory lock when missing or stale (another
--     period, another time zone, a grant expiring, a clock that went back);
--   * moved by solaris_quota_settle in the same transaction as its ledger row, so it cannot disagree with it;
--   * dropped by triggers whenever an input of the snapshot changes by ANY path — an admin action, a
--     LibreChat role change, a ledger row written by another writer, a threshold fired, or an operator's
--     hand-written SQL: the cache is right by construction, not by every caller remembering to invalidate.
--   * UNLOGGED: no WAL for the hot updates. After a crash Postgres empties it and each counter is rebuilt
--     from the ledger — exactly what happens to a lost Redis counter.
CREATE UNLOGGED TABLE quota_counters (
  user_id text PRIMARY KEY,
  tz text NOT NULL,
  built_at timestamptz NOT NULL,
  plan_id text,
  kind text NOT NULL,
  lim bigint NOT NULL,
  base_lim bigint NOT NULL,
  personal_cap bigint,
  warn_percent integer,
  pk text NOT NULL,
  ps timestamptz NOT NULL,
  pe timestamptz NOT NULL,
  last_reset timestamptz,
  granted bigint NOT NULL,
  next_expiry timestamptz,
  used bigint NOT NULL,
  fired integer[] NOT NULL
) WITH (fillfactor = 70); -- room for HOT updates of `used`

-- Reservations are not the record either (reserve already commits them with synchronous_commit off): no WAL
-- for their insert and delete on every request. A crash empties the table — every hold is released, as if
-- it had expired; the settlements that follow still charge in full.
ALTER TABLE quota_reservations SET UNLOGGED;

-- The user's counter, rebuilt when absent or stale. Call it holding the user's advisory lock.
CREATE FUNCTION solaris_counter(p_user text, p_now timestamptz, p_tz text) RETURNS quota_counters
LANGUAGE plpgsql AS $$
DECLARE
  c quota_counters;
BEGIN
  SELECT * INTO c FROM quota_counters q WHERE q.user_id = p_user;
  IF FOUND AND c.tz = p_tz AND p_now >= c.built_at AND p_now >= c.ps AND p_now < c.pe
     AND (c.next_expiry IS NULL OR p_now < c.next_expiry) THEN
    RETURN c;
  END IF;
  SELECT p_user, p_tz, p_now, s.plan_id, s.kind, s.lim, s.base_lim, s.personal_cap, s.warn_percent, s.pk, s.ps, s.pe,
         s.last_reset, s.granted, s.next_expiry, s.used, s.fired
    INTO c FROM solaris_policy_snapshot(p_user, p_now, p_tz) s;
  INSERT INTO quota_counters VALUES (c.*)
  ON CONFLICT (user_id) DO UPDATE SET tz = EXCLUDED.tz, built_at = EXCLUDED.built_at, plan_id = EXCLUDED.plan_id,
    kind = EXCLUDED.kind, lim = EXCLUDED.lim, base_lim = EXCLUDED.base_lim, personal_cap = EXCLUDED.personal_cap,
    warn_percent = EXCLUDED.warn_percent, pk = EXCLUDED.pk, ps = EXCLUDED.ps, pe = EXCLUDED.pe,
    last_reset = EXCLUDED.last_reset, granted = EXCLUDED.granted, next_expiry = EXCLUDED.next_expiry,
    used = EXCLUDED.used, fired = EXCLUDED.fired;
  RETURN c;
END $$;

CREATE OR REPLACE FUNCTION solaris_quota_reserve(p_user text, p_request text, p_estimate bigint, p_now timestamptz, p_tz text,
                                                 p_expires timestamptz, p_max_inflight integer)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[], reserved bigint, open_count integer, mine boolean, inserted boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  s quota_counters;
BEGIN
  -- A reservation is not the record: one lost in a crash is a reservation that expired.
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:' || p_user, 0));
  s := solaris_counter(p_user, p_now, p_tz);
  -- One statement: drop the user's expired holds and sum the open ones (the SELECT sees the rows as before the
  -- DELETE, so it filters the expired ones itself).
  WITH expired AS (DELETE FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at <= p_now RETURNING 1)
  SELECT COALESCE(sum(q.amount), 0)::bigint, count(*)::int, COALESCE(bool_or(q.request_id = p_request), false)
    INTO reserved, open_count, mine FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at > p_now;
  inserted := false;
  IF NOT mine AND open_count < p_max_inflight AND s.lim + s.granted - s.used - reserved > 0
     AND p_estimate <= s.lim + s.granted - s.used - reserved THEN
    INSERT INTO quota_reservations (request_id, user_id, amount, expires_at) VALUES (p_request, p_user, p_estimate, p_expires)
      ON CONFLICT (request_id) DO NOTHING;
    inserted := FOUND;
  END IF;
  plan_id := s.plan_id; kind := s.kind; lim := s.lim; base_lim := s.base_lim; personal_cap := s.personal_cap;
  warn_percent := s.warn_percent; pk := s.pk; ps := s.ps; pe := s.pe; last_reset := s.last_reset; granted := s.granted;
  next_expiry := s.next_expiry; used := s.used; fired := s.fired; recent := '{}';
  RETURN NEXT;
END $$;

CREATE OR REPLACE FUNCTION solaris_quota_settle(p_user text, p_request text, p_model text, p_prompt bigint, p_completion bigint,
                                     p_weighted bigint, p_cost numeric, p_source text, p_estimated boolean,
                                     p_conversation text, p_message text, p_occurred timestamptz, p_now timestamptz, p_tz text)
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
                      source, estimated, conversation_id, message_id, period_key, created_at)
  VALUES (p_request, p_user, p_model, p_prompt, p_completion, p_prompt + p_completion, p_weighted, p_cost, p_source,
          p_estimated, p_conversation, p_message, v_pk, p_occurred)
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

-- The counter plus the open reservations, for balance reads.
CREATE FUNCTION solaris_quota_state(p_user text, p_now timestamptz, p_tz text)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[], reserved bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  s quota_counters;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:' || p_user, 0));
  s := solaris_counter(p_user, p_now, p_tz);
  plan_id := s.plan_id; kind := s.kind; lim := s.lim; base_lim := s.base_lim; personal_cap := s.personal_cap;
  warn_percent := s.warn_percent; pk := s.pk; ps := s.ps; pe := s.pe; last_reset := s.last_reset; granted := s.granted;
  next_expiry := s.next_expiry; used := s.used; fired := s.fired; recent := '{}';
  SELECT COALESCE(sum(q.amount), 0)::bigint INTO reserved FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at > p_now;
  RETURN NEXT;
END $$;

-- Invalidation triggers: every input of the snapshot. Cheap when the table is empty (Redis-store installs).
CREATE FUNCTION solaris_counters_drop_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN DELETE FROM quota_counters WHERE user_id = OLD.user_id; END IF;
  IF TG_OP <> 'DELETE' THEN DELETE FROM quota_counters WHERE user_id = NEW.user_id; END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION solaris_counters_drop_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM quota_counters;
  RETURN NULL;
END $$;

-- Ledger rows written by any other writer (batch ingest, LibreChat transactions, callbacks, outbox drains).
CREATE FUNCTION solaris_counters_drop_ledger_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('solaris.counter_writer', true) IS DISTINCT FROM 'on' AND EXISTS (SELECT 1 FROM quota_counters) THEN
    DELETE FROM quota_counters q WHERE q.user_id IN (SELECT DISTINCT n.user_id FROM new_rows n);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER quota_counters_ledger AFTER INSERT ON ledger
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_ledger_users();
CREATE TRIGGER quota_counters_adjustments AFTER INSERT OR UPDATE OR DELETE ON adjustments
  FOR EACH ROW EXECUTE FUNCTION solaris_counters_drop_user();
CREATE TRIGGER quota_counters_user_quotas AFTER INSERT OR UPDATE OR DELETE ON user_quotas
  FOR EACH ROW EXECUTE FUNCTION solaris_counters_drop_user();
CREATE TRIGGER quota_counters_thresholds AFTER INSERT OR UPDATE OR DELETE ON threshold_notifications
  FOR EACH ROW EXECUTE FUNCTION solaris_counters_drop_user();
-- users_cache is touched on every visit (last seen): only a role that really changed drops the counter.
CREATE TRIGGER quota_counters_users_role AFTER UPDATE OF role ON users_cache
  FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION solaris_counters_drop_user();
CREATE TRIGGER quota_counters_users AFTER INSERT OR DELETE ON users_cache
  FOR EACH ROW EXECUTE FUNCTION solaris_counters_drop_user();
-- TRUNCATE fires no row triggers: any truncated input drops every counter.
CREATE TRIGGER quota_counters_truncate_ledger AFTER TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();
CREATE TRIGGER quota_counters_truncate_adjustments AFTER TRUNCATE ON adjustments
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();
CREATE TRIGGER quota_counters_truncate_user_quotas AFTER TRUNCATE ON user_quotas
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();
CREATE TRIGGER quota_counters_truncate_thresholds AFTER TRUNCATE ON threshold_notifications
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();
CREATE TRIGGER quota_counters_truncate_users AFTER TRUNCATE ON users_cache
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();
CREATE TRIGGER quota_counters_plans AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();
CREATE TRIGGER quota_counters_role_plans AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_plans
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();
