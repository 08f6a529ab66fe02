-- solaris_effective_plan as ONE statement (own plan, else the role's plan, else the default plan) inside
-- PL/pgSQL. The COALESCE of three scalar sub-selects (1764800000000) was re-planned on every call: 0.12–0.2 ms,
-- the same as the LANGUAGE sql version before it; one SELECT … INTO keeps a cached plan: ~0.02 ms
-- (2,000 calls in a DO loop, same box). The snapshot (counter rebuild, Postgres store steps) calls it once per user.
CREATE OR REPLACE FUNCTION solaris_effective_plan(user_id text) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  v text;
BEGIN
  SELECT COALESCE(uq.plan_id, rp.plan_id, (SELECT d.id FROM plans d WHERE d.is_default LIMIT 1)) INTO v
  FROM (SELECT $1 AS uid) x
  LEFT JOIN user_quotas uq ON uq.user_id = x.uid
  LEFT JOIN users_cache c ON c.user_id = x.uid
  LEFT JOIN role_plans rp ON rp.role = c.role;
  RETURN v;
END $$;
