-- Postgres store speed (issue 2: ≥ 2,000 reserve+settle decisions/s).
--
-- 1. solaris_effective_plan in PL/pgSQL: as a LANGUAGE sql function with sub-selects it cannot be inlined,
--    and PostgreSQL 15 plans a non-inlined SQL function's body again on every call; PL/pgSQL keeps the plans
--    of its statements per connection. Same result.
-- 2. solaris_quota_settle reads the snapshot once, before its INSERT, and derives the row's period key from
--    it (the snapshot's key when the usage happened in the current period — nearly always — else the key of
--    its own period, for the same plan kind as before). The returned `used` adds the new row exactly when the
--    snapshot's ledger sum would have counted it: inserted (not a replay), same period, after the last reset.
CREATE OR REPLACE FUNCTION solaris_effective_plan(user_id text) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN COALESCE(
    (SELECT uq.plan_id FROM user_quotas uq WHERE uq.user_id = $1),
    (SELECT rp.plan_id FROM users_cache c JOIN role_plans rp ON rp.role = c.role WHERE c.user_id = $1),
    (SELECT p.id FROM plans p WHERE p.is_default LIMIT 1));
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
  s record;
  v_pk text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:' || p_user, 0));
  SELECT * INTO s FROM solaris_policy_snapshot(p_user, p_now, p_tz);
  v_pk := CASE WHEN p_occurred >= s.ps AND p_occurred < s.pe THEN s.pk ELSE solaris_period_key(s.kind, p_occurred, p_tz) END;
  INSERT INTO ledger (request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost,
                      source, estimated, conversation_id, message_id, period_key, created_at)
  VALUES (p_request, p_user, p_model, p_prompt, p_completion, p_prompt + p_completion, p_weighted, p_cost, p_source,
          p_estimated, p_conversation, p_message, v_pk, p_occurred)
  ON CONFLICT (request_id) DO NOTHING
  RETURNING ledger.seq, ledger.period_key, ledger.cost INTO l_seq, l_period_key, l_cost;
  DELETE FROM quota_reservations q WHERE q.request_id = p_request AND q.user_id = p_user;
  plan_id := s.plan_id; kind := s.kind; lim := s.lim; base_lim := s.base_lim; personal_cap := s.personal_cap;
  warn_percent := s.warn_percent; pk := s.pk; ps := s.ps; pe := s.pe; last_reset := s.last_reset; granted := s.granted;
  next_expiry := s.next_expiry; fired := s.fired; recent := s.recent;
  used := s.used + CASE WHEN l_seq IS NOT NULL AND v_pk = s.pk AND (s.last_reset IS NULL OR p_occurred > s.last_reset)
                        THEN p_weighted ELSE 0 END;
  SELECT COALESCE(sum(q.amount), 0)::bigint INTO reserved FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at > p_now;
  RETURN NEXT;
END $$;
