import type { PeriodKind } from '@solaris/wire';
import type { Queryable } from './sql';

/**
 * Everything needed to (re)build a user's counter for the period containing `now`, read from Postgres
 * in one round trip: effective limit (min(override ?? plan, personal cap); plan = solaris_effective_plan), period bounds (SQL period functions), active
 * grants, settled usage since the last reset, fired thresholds. Users without a row get the default plan.
 */
export interface PolicySnapshot {
  planId: string | null;
  periodKind: PeriodKind;
  periodKey: string;
  periodStart: number;
  periodEnd: number;
  limit: number;
  granted: number;
  /** Earliest expiry of an active grant (ms), 0 when none: the counter must be rebuilt then. */
  nextGrantExpiry: number;
  /** Time of the last reset in this period (ms), 0 when none. */
  lastReset: number;
  used: number;
  fired: number[];
  /** Request ids settled since `recentSince` (only when asked): read in the same statement, hence the same snapshot as `used`. */
  recent: string[];
  /** Limit before the personal cap (override ?? plan): the ceiling a user may set their cap to. */
  baseLimit: number;
  /** The user's own cap (null = none); `limit` is already min(baseLimit, personalCap). */
  personalCap: number | null;
  /** The user's own warning percentage (null = the deployment's lowest threshold). */
  warnPercent: number | null;
}

// $1 user, $2 now, $3 tz, $4 recentSince (nullable). The CTE `p` always yields one row (LEFT JOINs from the user id).
export const SNAPSHOT_SQL = `
WITH p AS (
  SELECT pl.id AS plan_id,
         COALESCE(pl.period, 'month') AS kind,
         COALESCE(uq.limit_override, pl.token_limit, 0) AS base_lim,
         -- A personal cap (set by the user) lowers the effective limit; LEAST ignores a NULL cap.
         LEAST(COALESCE(uq.limit_override, pl.token_limit, 0), uq.personal_cap) AS lim,
         uq.personal_cap, uq.warn_percent
  FROM (SELECT $1::text AS uid) x
  LEFT JOIN user_quotas uq ON uq.user_id = x.uid
  LEFT JOIN plans pl ON pl.id = solaris_effective_plan(x.uid)
), b AS (
  SELECT p.*, solaris_period_key(kind, $2, $3) AS pk,
         solaris_period_start(kind, $2, $3) AS ps, solaris_period_end(kind, $2, $3) AS pe
  FROM p
), r AS (
  SELECT max(a.created_at) AS last_reset FROM adjustments a, b
  WHERE a.user_id = $1 AND a.kind = 'reset' AND a.period_key = b.pk
)
SELECT b.plan_id, b.kind, b.lim, b.base_lim, b.personal_cap, b.warn_percent, b.pk, b.ps, b.pe, r.last_reset,
  (SELECT COALESCE(sum(a.tokens), 0) FROM adjustments a
    WHERE a.user_id = $1 AND a.kind = 'grant' AND a.period_key = b.pk AND (a.expires_at IS NULL OR a.expires_at > $2)) AS granted,
  (SELECT min(a.expires_at) FROM adjustments a
    WHERE a.user_id = $1 AND a.kind = 'grant' AND a.period_key = b.pk AND a.expires_at > $2) AS next_expiry,
  (SELECT COALESCE(sum(l.weighted_tokens), 0) FROM ledger l
    WHERE l.user_id = $1 AND l.period_key = b.pk AND (r.last_reset IS NULL OR l.created_at > r.last_reset)) AS used,
  (SELECT COALESCE(array_agg(t.threshold ORDER BY t.threshold), '{}') FROM threshold_notifications t
    WHERE t.user_id = $1 AND t.period_key = b.pk) AS fired,
  CASE WHEN $4::timestamptz IS NULL THEN '{}'::text[] ELSE
    (SELECT COALESCE(array_agg(l.request_id), '{}') FROM ledger l WHERE l.user_id = $1 AND l.created_at > $4::timestamptz) END AS recent
FROM b, r`;

export interface SnapshotRow {
  plan_id: string | null;
  kind: PeriodKind;
  lim: number;
  base_lim: number;
  personal_cap: number | null;
  warn_percent: number | null;
  pk: string;
  ps: Date;
  pe: Date;
  last_reset: Date | null;
  granted: number;
  next_expiry: Date | null;
  used: number;
  fired: number[];
  recent: string[];
}

/**
 * `recentSince` (ms): also list the request ids settled since then. The Redis rebuild needs them from the
 * *same* snapshot as `used` — read separately, a row committed in between would be counted twice or never.
 */
export async function loadPolicySnapshot(
  db: Queryable,
  userId: string,
  now: number,
  tz: string,
  recentSince: number | null = null,
): Promise<PolicySnapshot> {
  const { rows } = await db.query<SnapshotRow>(SNAPSHOT_SQL, [userId, new Date(now), tz, recentSince == null ? null : new Date(recentSince)]);
  return toPolicySnapshot(rows[0]!);
}

/** Parameters of SNAPSHOT_SQL, in order. */
export function snapshotParams(userId: string, now: number, tz: string, recentSince: number | null = null): unknown[] {
  return [userId, new Date(now), tz, recentSince == null ? null : new Date(recentSince)];
}

export function toPolicySnapshot(r: SnapshotRow): PolicySnapshot {
  return {
    planId: r.plan_id,
    periodKind: r.kind,
    periodKey: r.pk,
    periodStart: r.ps.getTime(),
    periodEnd: r.pe.getTime(),
    limit: Number(r.lim),
    granted: Number(r.granted),
    nextGrantExpiry: r.next_expiry ? r.next_expiry.getTime() : 0,
    lastReset: r.last_reset ? r.last_reset.getTime() : 0,
    used: Number(r.used),
    fired: r.fired.map(Number),
    recent: r.recent,
    baseLimit: Number(r.base_lim),
    personalCap: r.personal_cap == null ? null : Number(r.personal_cap),
    warnPercent: r.warn_percent == null ? null : Number(r.warn_percent),
  };
}
