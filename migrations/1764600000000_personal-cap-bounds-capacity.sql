-- Up Migration
-- A personal cap is a ceiling on what the user may spend in the period, grants included: capacity =
-- min(quota + grants, cap). Before, the cap only lowered the plan part and grants were added on top, so a
-- cap between the quota and quota + grants had no effect. Forward-only.

CREATE OR REPLACE FUNCTION solaris_policy_snapshot(p_user text, p_now timestamptz, p_tz text, p_recent_since timestamptz DEFAULT NULL)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[])
LANGUAGE sql STABLE AS $$
WITH p AS (
  SELECT pl.id AS plan_id,
         COALESCE(pl.period, 'month') AS kind,
         COALESCE(uq.limit_override, pl.token_limit, 0) AS base_lim,
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
), g AS (
  SELECT COALESCE(sum(a.tokens), 0)::bigint AS granted FROM adjustments a, b
  WHERE a.user_id = p_user AND a.kind = 'grant' AND a.period_key = b.pk AND (a.expires_at IS NULL OR a.expires_at > p_now)
)
SELECT b.plan_id, b.kind,
  -- The personal cap bounds the whole capacity (limit + grants): lim = min(base, cap - granted), so that
  -- lim + granted = min(base + granted, cap). Negative only when the cap is below the grants themselves.
  CASE WHEN b.personal_cap IS NULL THEN b.base_lim ELSE LEAST(b.base_lim, b.personal_cap - g.granted) END::bigint,
  b.base_lim, b.personal_cap, b.warn_percent, b.pk, b.ps, b.pe, r.last_reset,
  g.granted,
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
FROM b, r, g
$$;
