-- Up Migration
-- The Redis rebuild marks the request ids it counted so their pending Lua step becomes a no-op. Ids were
-- chosen by created_at (the usage time) only, so a row delivered late (created_at older than the window,
-- e.g. a retried LibreChat/LiteLLM callback) whose Lua step raced a rebuild was counted twice. Now the
-- user's 50 newest rows of the period (by seq, i.e. by insertion) are marked too. Forward-only.

CREATE OR REPLACE FUNCTION solaris_policy_snapshot(p_user text, p_now timestamptz, p_tz text, p_recent_since timestamptz DEFAULT NULL)
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
  -- Ids the rebuild marks as counted, from the same snapshot as `used`: settled since p_recent_since, plus
  -- the 50 newest rows of the period by insertion (a late row carries an old created_at).
  CASE WHEN p_recent_since IS NULL THEN '{}'::text[] ELSE ARRAY(
    SELECT l.request_id FROM ledger l WHERE l.user_id = p_user AND l.created_at > p_recent_since
    UNION
    SELECT n.request_id FROM (SELECT l.request_id FROM ledger l WHERE l.user_id = p_user AND l.period_key = b.pk
                              ORDER BY l.seq DESC LIMIT 50) n) END
FROM b, r
$$;
