-- Up Migration
-- The ledger partitioned by month (docs/ledger-partitions.md). Forward-only.
--   * The table as it was becomes the partition `ledger_legacy` of everything before the first month: attached in
--     place (one validating scan, no row copied), its indexes adopted by the parent's.
--   * Monthly partitions (UTC months) are created ahead by solaris_ledger_ensure_partitions, which `migrate` runs
--     every time; a DEFAULT partition takes any row no month holds yet, so an insert never fails.
--   * Idempotency across partitions: Postgres wants the partition key in every unique index, so request ids live in
--     their own table ledger_request_ids (request_id primary key → seq, created_at). Writers insert the key first
--     (ON CONFLICT DO NOTHING) and the ledger row only for the keys they inserted, in the same statement or
--     transaction; a statement trigger refuses ledger rows without their key.

-- 1. The request ids of the rows already there (keys only: three columns per row), indexed after the load.
CREATE TABLE ledger_request_ids (
  request_id text NOT NULL,
  seq        bigint NOT NULL DEFAULT nextval('ledger_seq_seq'),
  created_at timestamptz NOT NULL
);
INSERT INTO ledger_request_ids (request_id, seq, created_at) SELECT request_id, seq, created_at FROM ledger;
ALTER TABLE ledger_request_ids ADD PRIMARY KEY (request_id);

-- 2. The old table becomes the first partition.
ALTER TABLE ledger RENAME TO ledger_legacy;
-- Row triggers are cloned from the parent and statement triggers with transition tables are not allowed on a
-- partition: the parent gets them below.
DROP TRIGGER ledger_no_update ON ledger_legacy;
DROP TRIGGER quota_counters_ledger ON ledger_legacy;
DROP TRIGGER quota_counters_truncate_ledger ON ledger_legacy;
ALTER INDEX ledger_user_statement RENAME TO ledger_legacy_user_statement;
ALTER INDEX ledger_user_period RENAME TO ledger_legacy_user_period;
ALTER INDEX ledger_created_at RENAME TO ledger_legacy_created_at;

CREATE TABLE ledger (LIKE ledger_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at);
-- The sequence must outlive the legacy partition (retention drops it one day).
ALTER SEQUENCE ledger_seq_seq OWNED BY ledger.seq;
-- Same definitions as the legacy indexes: ATTACH adopts them instead of building new ones. A fourth one, the
-- statement's totals (count and sums of a user's rows) read from the index alone, is added below.
CREATE INDEX ledger_user_statement ON ledger (user_id, created_at DESC, seq DESC);
CREATE INDEX ledger_user_period ON ledger (user_id, period_key, seq) INCLUDE (weighted_tokens, created_at);
CREATE INDEX ledger_created_at ON ledger (created_at);

CREATE OR REPLACE FUNCTION solaris_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The one exception: solaris_ledger_ensure_partitions moving rows out of the DEFAULT partition into their month.
  IF TG_OP = 'DELETE' AND current_setting('solaris.ledger_move', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'ledger is append-only';
END $$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION solaris_ledger_append_only();
CREATE TRIGGER quota_counters_ledger AFTER INSERT ON ledger
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_ledger_users();
CREATE TRIGGER quota_counters_truncate_ledger AFTER TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_counters_drop_all();

-- A ledger row written without its key would escape idempotency: refuse it (one anti-join per statement).
CREATE FUNCTION solaris_ledger_keys_present() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM ledger_request_ids k WHERE k.request_id = n.request_id AND k.seq = n.seq)) THEN
    RAISE EXCEPTION 'ledger row without its key in ledger_request_ids (write the key first: docs/ledger-partitions.md)';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_keys_present AFTER INSERT ON ledger
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION solaris_ledger_keys_present();
-- A truncated ledger forgets its keys too.
CREATE FUNCTION solaris_ledger_truncate_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE ledger_request_ids;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_truncate_keys AFTER TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION solaris_ledger_truncate_keys();

-- The legacy partition holds everything before the first month after its newest row. An empty ledger (a new
-- install) has none: every month is a partition, past ones included (created on demand, see below).
DO $$
DECLARE
  b timestamptz;
BEGIN
  SELECT (date_trunc('month', max(created_at) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' INTO b FROM ledger_legacy;
  IF b IS NULL THEN
    DROP TABLE ledger_legacy;
    CREATE INDEX ledger_user_totals ON ledger (user_id) INCLUDE (prompt_tokens, completion_tokens, weighted_tokens, cost);
  ELSE
    EXECUTE format('ALTER TABLE ledger ATTACH PARTITION ledger_legacy FOR VALUES FROM (MINVALUE) TO (%L)', b);
    -- Not built on the legacy partition here (a pass over every row): each new month gets it; an operator may build
    -- it on ledger_legacy later (docs/ledger-partitions.md).
    CREATE INDEX ledger_user_totals ON ONLY ledger (user_id) INCLUDE (prompt_tokens, completion_tokens, weighted_tokens, cost);
  END IF;
END $$;
CREATE TABLE ledger_default PARTITION OF ledger DEFAULT;

-- 3. The partitions and their bounds (operators: SELECT * FROM ledger_partitions).
CREATE VIEW ledger_partitions AS
  SELECT c.relname::text AS name,
         CASE WHEN b.def = 'DEFAULT' THEN NULL
              ELSE NULLIF(substring(b.def FROM $r$FROM \('?([^')]*)'?\)$r$), 'MINVALUE')::timestamptz END AS lo,
         CASE WHEN b.def = 'DEFAULT' THEN NULL
              ELSE NULLIF(substring(b.def FROM $r$TO \('?([^')]*)'?\)$r$), 'MAXVALUE')::timestamptz END AS hi,
         b.def = 'DEFAULT' AS is_default,
         c.oid::regclass AS rel
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS def) b
  WHERE i.inhparent = 'ledger'::regclass;

-- Creates the monthly partitions (UTC months) from p_now's month to p_months_ahead months after it, those not
-- there yet. Rows the DEFAULT partition holds for a month being created move into it (same transaction).
-- Safe to run concurrently (advisory lock) and as often as wanted: `solaris migrate` runs it every time.
CREATE FUNCTION solaris_ledger_ensure_partitions(p_now timestamptz DEFAULT now(), p_months_ahead integer DEFAULT 3)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  ns text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'ledger'::regclass);
  m timestamp := date_trunc('month', p_now AT TIME ZONE 'UTC');
  v_lo timestamptz;
  v_hi timestamptz;
  part text;
  def regclass := (SELECT p.rel FROM ledger_partitions p WHERE p.is_default);
  created text[] := '{}';
  in_default boolean := false;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:ledger_partitions:' || ns, 0));
  FOR i IN 0..p_months_ahead LOOP
    v_lo := (m + make_interval(months => i)) AT TIME ZONE 'UTC';
    v_hi := (m + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
    CONTINUE WHEN EXISTS (SELECT 1 FROM ledger_partitions p WHERE NOT p.is_default
                            AND COALESCE(p.lo, '-infinity') < v_hi AND COALESCE(p.hi, 'infinity') > v_lo);
    part := 'ledger_' || to_char(v_lo AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
    IF def IS NOT NULL THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE created_at >= $1 AND created_at < $2)', def) USING v_lo, v_hi INTO in_default;
    END IF;
    IF in_default THEN
      EXECUTE format('CREATE TABLE %I.%I (LIKE %I.ledger INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', ns, part, ns);
      PERFORM set_config('solaris.ledger_move', 'on', true);
      EXECUTE format('WITH moved AS (DELETE FROM %s WHERE created_at >= %L AND created_at < %L RETURNING *) '
                     'INSERT INTO %I.%I SELECT * FROM moved', def, v_lo, v_hi, ns, part);
      PERFORM set_config('solaris.ledger_move', '', true);
      EXECUTE format('ALTER TABLE %I.ledger ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)', ns, ns, part, v_lo, v_hi);
    ELSE
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.ledger FOR VALUES FROM (%L) TO (%L)', ns, part, ns, v_lo, v_hi);
    END IF;
    created := created || part;
  END LOOP;
  RETURN created;
END $$;

-- Retention: detaches and drops every partition that ends on or before p_before (whole months only; the DEFAULT
-- partition is never dropped), with the request ids of the rows it held. Refuses a cutoff later than the start
-- of last month: the counters read the current period and the statement the periods it shows.
CREATE FUNCTION solaris_ledger_drop_before(p_before timestamptz, p_now timestamptz DEFAULT now())
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  p record;
  dropped text[] := '{}';
BEGIN
  IF p_before > (date_trunc('month', p_now AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC' THEN
    RAISE EXCEPTION 'retention cutoff % is too recent: keep at least last month and this one', p_before;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('solaris:ledger_partitions:' || (SELECT n.nspname FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'ledger'::regclass), 0));
  FOR p IN SELECT * FROM ledger_partitions WHERE NOT is_default AND hi IS NOT NULL AND hi <= p_before ORDER BY hi LOOP
    EXECUTE format('ALTER TABLE ledger DETACH PARTITION %s', p.rel);
    EXECUTE format('DROP TABLE %s', p.rel);
    DELETE FROM ledger_request_ids k WHERE k.created_at < p.hi AND (p.lo IS NULL OR k.created_at >= p.lo);
    dropped := dropped || p.name;
  END LOOP;
  RETURN dropped;
END $$;

SELECT solaris_ledger_ensure_partitions();

-- 4. The writers inside Postgres: the Postgres store's settle writes the key first.
CREATE OR REPLACE FUNCTION solaris_quota_settle(p_user text, p_request text, p_model text, p_prompt bigint, p_completion bigint,
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
  -- The key decides: a replay (any month) inserts no key, hence no row.
  INSERT INTO ledger_request_ids (request_id, created_at) VALUES (p_request, p_occurred)
  ON CONFLICT (request_id) DO NOTHING
  RETURNING ledger_request_ids.seq INTO l_seq;
  IF l_seq IS NOT NULL THEN
    -- This insert moves the counter itself (below): the ledger trigger must not drop it.
    PERFORM set_config('solaris.counter_writer', 'on', true);
    INSERT INTO ledger (seq, request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost,
                        source, estimated, conversation_id, message_id, period_key, created_at, context)
    VALUES (l_seq, p_request, p_user, p_model, p_prompt, p_completion, p_prompt + p_completion, p_weighted, p_cost, p_source,
            p_estimated, p_conversation, p_message, v_pk, p_occurred, p_context)
    RETURNING ledger.period_key, ledger.cost INTO l_period_key, l_cost;
    PERFORM set_config('solaris.counter_writer', '', true);
  END IF;
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

-- A request id already charged, in any month: one probe of the key table instead of one per partition.
CREATE OR REPLACE FUNCTION solaris_idempotency_claim(p_request text, p_user text, p_expires timestamptz)
RETURNS TABLE (claimed boolean, state text, status integer, content_type text, body bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  DELETE FROM idempotency_keys k WHERE k.request_id = p_request AND k.expires_at <= now();
  DELETE FROM idempotency_keys k WHERE k.request_id IN
    (SELECT x.request_id FROM idempotency_keys x WHERE x.expires_at <= now() LIMIT 20 FOR UPDATE SKIP LOCKED);
  RETURN QUERY SELECT false, k.state, k.status, k.content_type, k.body FROM idempotency_keys k WHERE k.request_id = p_request;
  IF FOUND THEN RETURN; END IF;
  IF EXISTS (SELECT 1 FROM ledger_request_ids l WHERE l.request_id = p_request) THEN
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

-- 5. The counter rebuild reads the current period only: bounded in time too, so Postgres reads that period's
-- partitions and skips the others. The bounds are redundant (a period's rows lie within it, in the zone their key
-- was computed in; two days cover any change of SOLARIS_TIMEZONE). `recent` comes sorted. Otherwise as in 1764600000000.
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
    WHERE l.user_id = p_user AND l.period_key = b.pk AND (r.last_reset IS NULL OR l.created_at > r.last_reset)
      AND l.created_at >= b.ps - interval '2 days' AND l.created_at < b.pe + interval '2 days'),
  (SELECT COALESCE(array_agg(t.threshold ORDER BY t.threshold), '{}') FROM threshold_notifications t
    WHERE t.user_id = p_user AND t.period_key = b.pk),
  -- Ids the rebuild marks as counted, from the same snapshot as `used`: settled since p_recent_since, plus
  -- the 50 newest rows of the period by insertion (a late row carries an old created_at).
  CASE WHEN p_recent_since IS NULL THEN '{}'::text[] ELSE ARRAY(
    SELECT l.request_id FROM ledger l WHERE l.user_id = p_user AND l.created_at > p_recent_since
    UNION
    SELECT n.request_id FROM (SELECT l.request_id FROM ledger l WHERE l.user_id = p_user AND l.period_key = b.pk
                                AND l.created_at >= b.ps - interval '2 days' AND l.created_at < b.pe + interval '2 days'
                              ORDER BY l.seq DESC LIMIT 50) n
    -- In one order whatever the plan (the month partitions changed the union's natural order).
    ORDER BY 1) END
FROM b, r, g
$$;
