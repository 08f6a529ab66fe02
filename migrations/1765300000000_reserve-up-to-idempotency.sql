-- Up Migration
-- 1. "Reserve up to" (docs/reservation-policy.md): a user with tokens left is not refused because of a default
-- max_tokens. solaris_quota_reserve gains p_min: when the minimum (the prompt, plus one token per choice) fits in
-- what is available, the hold is least(p_estimate, available) — decided under the user's advisory lock, as the
-- Redis store's Lua decides it. A new overload (8 arguments, one more output column `held`); the 7-argument
-- function stays for a replica still running the previous version during a rolling upgrade.
CREATE FUNCTION solaris_quota_reserve(p_user text, p_request text, p_estimate bigint, p_now timestamptz, p_tz text,
                                      p_expires timestamptz, p_max_inflight integer, p_min bigint)
RETURNS TABLE (plan_id text, kind text, lim bigint, base_lim bigint, personal_cap bigint, warn_percent integer, pk text,
               ps timestamptz, pe timestamptz, last_reset timestamptz, granted bigint, next_expiry timestamptz, used bigint,
               fired integer[], recent text[], reserved bigint, open_count integer, mine boolean, inserted boolean, held bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  s quota_counters;
  v_available bigint;
  v_min bigint := least(coalesce(p_min, p_estimate), p_estimate);
BEGIN
  -- A reservation is not the record: one lost in a crash is a reservation that expired.
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:' || p_user, 0));
  s := solaris_counter(p_user, p_now, p_tz);
  WITH expired AS (DELETE FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at <= p_now RETURNING 1)
  SELECT COALESCE(sum(q.amount), 0)::bigint, count(*)::int, COALESCE(bool_or(q.request_id = p_request), false),
         COALESCE(max(q.amount) FILTER (WHERE q.request_id = p_request), 0)::bigint
    INTO reserved, open_count, mine, held FROM quota_reservations q WHERE q.user_id = p_user AND q.expires_at > p_now;
  inserted := false;
  v_available := s.lim + s.granted - s.used - reserved;
  IF NOT mine THEN
    held := p_estimate;
    IF open_count < p_max_inflight AND v_available > 0 AND v_min <= v_available THEN
      held := least(p_estimate, v_available);
      INSERT INTO quota_reservations (request_id, user_id, amount, expires_at) VALUES (p_request, p_user, held, p_expires)
        ON CONFLICT (request_id) DO NOTHING;
      inserted := FOUND;
    END IF;
  END IF;
  plan_id := s.plan_id; kind := s.kind; lim := s.lim; base_lim := s.base_lim; personal_cap := s.personal_cap;
  warn_percent := s.warn_percent; pk := s.pk; ps := s.ps; pe := s.pe; last_reset := s.last_reset; granted := s.granted;
  next_expiry := s.next_expiry; used := s.used; fired := s.fired; recent := '{}';
  RETURN NEXT;
END $$;

-- 2. Idempotency keys of the metering proxy (docs/reservation-policy.md "Replays"): a repeated Idempotency-Key
-- returns the stored outcome (or 409 while the first request is in flight), never a second upstream call.
-- Shared by every replica; bounded in time (expires_at; expired rows are purged a few at a time by each claim)
-- and in size (the stored answer is capped by the proxy; a larger one is stored as "delivered, not kept").
CREATE TABLE idempotency_keys (
  request_id text PRIMARY KEY,
  user_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('inflight', 'done')),
  status integer,
  content_type text,
  body bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Claims a key for a first request. claimed = true: go ahead. Otherwise the row as it is (state 'inflight' or
-- 'done'), or state 'spent' when no row exists but the ledger already holds this request id (a key reused after
-- its row expired: serving it again would be an answer nobody pays for).
CREATE FUNCTION solaris_idempotency_claim(p_request text, p_user text, p_expires timestamptz)
RETURNS TABLE (claimed boolean, state text, status integer, content_type text, body bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  DELETE FROM idempotency_keys k WHERE k.request_id = p_request AND k.expires_at <= now();
  DELETE FROM idempotency_keys k WHERE k.request_id IN
    (SELECT x.request_id FROM idempotency_keys x WHERE x.expires_at <= now() LIMIT 20 FOR UPDATE SKIP LOCKED);
  RETURN QUERY SELECT false, k.state, k.status, k.content_type, k.body FROM idempotency_keys k WHERE k.request_id = p_request;
  IF FOUND THEN RETURN; END IF;
  IF EXISTS (SELECT 1 FROM ledger l WHERE l.request_id = p_request) THEN
    claimed := false; state := 'spent';
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO idempotency_keys (request_id, user_id, state, expires_at) VALUES (p_request, p_user, 'inflight', p_expires)
    ON CONFLICT (request_id) DO NOTHING;
  IF FOUND THEN
    claimed := true; state := 'inflight';
    RETURN NEXT;
    RETURN;
  END IF;
  -- Another request claimed it between our read and our insert.
  RETURN QUERY SELECT false, k.state, k.status, k.content_type, k.body FROM idempotency_keys k WHERE k.request_id = p_request;
END $$;
