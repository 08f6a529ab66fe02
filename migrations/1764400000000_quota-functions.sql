-- Up Migration
-- Quota engine steps as database functions. Forward-only.
--
-- solaris_policy_snapshot is now the ONE definition of a user's counter state (core/policy.ts calls it:
-- Redis rebuild, Postgres store, admin). To change it, add a migration with CREATE OR REPLACE FUNCTION.
--
-- solaris_quota_reserve / solaris_quota_settle are the Postgres store's steps: one round trip each, and
-- PL/pgSQL caches their statements' plans per connection (planning the snapshot costs more than running it).

CREATE FUNCTION solaris_policy_snapshot(p_user text, p_now timestamptz, p_tz text, p_recent_since timestamptz DEFAULT NULL)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[])
LANGUAGE sql STABLE AS $$
WITH p AS (
  SELECT pl.id AS plan_id,
         COALESCE(pl.period, 'month') AS kind,
         COALESCE(uq.limit_override, pl.token_limit, 0) AS base_lim,
         -- A personal cap (set by the user) lowers the effective limit; LEAST ignores a NULL cap.
         LEAST(COALESCE(uq.limit_override, pl.token_limit, 0), uq.personal_cap) AS lim,
         uq.personal_cap, uq.warn_percent
  FROM (SELECT p_user AS uid) x
  LEFT JOIN user_quotas uq ON uq.user_id = x.uid
  LEFT JOIN plans pl ON pl.id = solaris_effective_plan(x.uid)
), b AS (
  SELECT p.*, solaris_period_key(kind, p_now, p_tz) AS pk,
         solaris_period_start(kind, p_now, p_tz) AS ps, solaris_period_end(kind, p_now, p_tz) AS pe
  FROM p
), r AS (
  SELECT max(a.created_at) AS last_reset FROM adjustments a, b
  WHERE a.user_id = p_user AND a.kind = 'reset' AND a.period_key = b.pk
)
SELECT b.plan_id, b.kind, b.lim, b.base_lim, b.personal_cap, b.warn_percent, b.pk, b.ps, b.pe, r.last_reset,
  (SELECT COALESCE(sum(a.tokens), 0)::bigint FROM adjustments a
    WHERE a.user_id = p_user AND a.kind = 'grant' AND a.period_key = b.pk AND (a.expires_at IS NULL OR a.expires_at > p_now)),
  (SELECT min(a.expires_at) FROM adjustments a
    WHERE a.user_id = p_user AND a.kind = 'grant' AND a.period_key = b.pk AND a.expires_at > p_now),
  (SELECT COALESCE(sum(l.weighted_tokens), 0)::bigint FROM ledger l
    WHERE l.user_id = p_user AND l.period_key = b.pk AND (r.last_reset IS NULL OR l.created_at > r.last_reset)),
  (SELECT COALESCE(array_agg(t.threshold ORDER BY t.threshold), '{}') FROM threshold_notifications t
    WHERE t.user_id = p_user AND t.period_key = b.pk),
  -- Ids settled since p_recent_since, from the same snapshot as `used` (the Redis rebuild marks them counted).
  CASE WHEN p_recent_since IS NULL THEN '{}'::text[] ELSE
    (SELECT COALESCE(array_agg(l.request_id), '{}') FROM ledger l WHERE l.user_id = p_user AND l.created_at > p_recent_since) END
FROM b, r
$$;

-- Reserve `p_estimate` for one request under the user's lock: purge expired holds, then hold it only when
-- it fits. Reservations are not the record (one lost in a crash = one that expired): no synchronous commit.
-- Returns the snapshot columns (as solaris_policy_snapshot) plus the open reservations and the outcome.
CREATE FUNCTION solaris_quota_reserve(p_user text, p_request text, p_estimate bigint, p_now timestamptz, p_tz text,
                                      p_expires timestamptz, p_max_inflight integer)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[], reserved bigint, open_count integer, mine boolean, inserted boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  s record;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:' || p_user, 0));
  DELETE FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at <= p_now;
  SELECT * INTO s FROM solaris_policy_snapshot(p_user, p_now, p_tz);
  SELECT COALESCE(sum(q.amount), 0)::bigint, count(*)::int, COALESCE(bool_or(q.request_id = p_request), false)
    INTO reserved, open_count, mine FROM quota_reservations q WHERE q.user_id = p_user;
  inserted := false;
  IF NOT mine AND open_count < p_max_inflight AND s.lim + s.granted - s.used - reserved > 0
     AND p_estimate <= s.lim + s.granted - s.used - reserved THEN
    INSERT INTO quota_reservations (request_id, user_id, amount, expires_at) VALUES (p_request, p_user, p_estimate, p_expires)
      ON CONFLICT (request_id) DO NOTHING;
    inserted := FOUND;
  END IF;
  plan_id := s.plan_id; kind := s.kind; lim := s.lim; base_lim := s.base_lim; personal_cap := s.personal_cap;
  warn_percent := s.warn_percent; pk := s.pk; ps := s.ps; pe := s.pe; last_reset := s.last_reset; granted := s.granted;
  next_expiry := s.next_expiry; used := s.used; fired := s.fired; recent := s.recent;
  RETURN NEXT;
END $$;

-- Settle one request under the user's lock: the ledger row (idempotent on request_id; same period rule as
-- core/ledger.ts ledgerInsertQuery), its reservation dropped, and the new counter state. Durable commit.
CREATE FUNCTION solaris_quota_settle(p_user text, p_request text, p_model text, p_prompt bigint, p_completion bigint,
                                     p_weighted bigint, p_cost numeric, p_source text, p_estimated boolean,
                                     p_conversation text, p_message text, p_occurred timestamptz, p_now timestamptz, p_tz text)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[], reserved bigint, l_seq bigint, l_period_key text, l_cost numeric)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:' || p_user, 0));
  INSERT INTO ledger (request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost,
                      source, estimated, conversation_id, message_id, period_key, created_at)
  VALUES (p_request, p_user, p_model, p_prompt, p_completion, p_prompt + p_completion, p_weighted, p_cost, p_source,
          p_estimated, p_conversation, p_message,
          solaris_period_key(COALESCE((SELECT pl.period FROM plans pl WHERE pl.id = solaris_effective_plan(p_user)), 'month'),
                             p_occurred, p_tz),
          p_occurred)
  ON CONFLICT (request_id) DO NOTHING
  RETURNING ledger.seq, ledger.period_key, ledger.cost INTO l_seq, l_period_key, l_cost;
  DELETE FROM quota_reservations q WHERE q.request_id = p_request AND q.user_id = p_user;
  RETURN QUERY
    SELECT s.*, (SELECT COALESCE(sum(q.amount), 0)::bigint FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at > p_now),
           l_seq, l_period_key, l_cost
    FROM solaris_policy_snapshot(p_user, p_now, p_tz) s;
END $$;
