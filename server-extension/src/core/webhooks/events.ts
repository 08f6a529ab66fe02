import type { BalanceDTO, BlockedEventDTO, LedgerEntryDTO, QuotaRequestEventDTO, ThresholdEventDTO } from '@solaris/wire';
import type { QuotaEngine } from '../engine';
import type { Logger } from '../logger';
import type { OutboxWriter } from './outbox';

const balanceData = (b: BalanceDTO) => ({
  userId: b.userId,
  planId: b.planId,
  periodKey: b.periodKey,
  used: b.used,
  capacity: b.limit + b.granted,
  remaining: b.remaining,
  percent: b.percent,
  resetAt: b.periodEnd,
});

/**
 * Turns engine events into outbox events. Listeners only do in-memory work (an email lookup cache aside,
 * which is async and off the request's promise chain): the chat path never waits for a webhook.
 */
export class WebhookEventSource {
  private readonly emails = new Map<string, string | null>();
  private readonly blockedSeen = new Set<string>();
  private readonly org: OrgUsageTracker;
  private readonly off: (() => void)[] = [];
  private digestTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly engine: QuotaEngine,
    private readonly outbox: OutboxWriter,
    private readonly logger?: Logger,
  ) {
    this.org = new OrgUsageTracker(engine, outbox, logger);
  }

  start(opts: { tickMs?: number } = {}): void {
    const ev = this.engine.events;
    const on = <K extends 'threshold' | 'blocked' | 'request' | 'ledger'>(name: K, fn: (...a: never[]) => void) => {
      const safe = (...a: never[]) => {
        try {
          fn(...a);
        } catch (e) {
          this.logger?.error('webhook event listener failed', { event: name, error: e });
        }
      };
      ev.on(name, safe as never);
      this.off.push(() => ev.off(name, safe as never));
    };
    on('threshold', (e: ThresholdEventDTO) => this.threshold(e));
    on('blocked', (e: BlockedEventDTO) => this.blocked(e));
    on('request', (e: QuotaRequestEventDTO) => this.request(e));
    on('ledger', (e: { userId: string; entry: LedgerEntryDTO }) => this.org.add(e.entry));
    const tick = () => {
      void this.org.resync().catch((e) => this.logger?.error('org usage resync failed', { error: e }));
      void this.maybeDigest(this.engine.clock()).catch((e) => this.logger?.error('daily digest failed', { error: e }));
    };
    this.digestTimer = setInterval(tick, opts.tickMs ?? 60_000);
    this.digestTimer.unref?.();
  }

  stop(): void {
    for (const f of this.off.splice(0)) f();
    if (this.digestTimer) clearInterval(this.digestTimer);
    this.digestTimer = null;
  }

  /** Email of a user for human-friendly payloads (cached; enqueue does not wait for it on a miss). */
  private withEmail(userId: string, send: (email: string | null) => void): void {
    if (this.emails.has(userId)) return send(this.emails.get(userId) ?? null);
    this.engine.db.pool
      .query<{ email: string | null }>(`SELECT email FROM users_cache WHERE user_id = $1`, [userId])
      .then(({ rows }) => {
        const email = rows[0]?.email ?? null;
        if (this.emails.size > 10_000) this.emails.clear();
        this.emails.set(userId, email);
        send(email);
      })
      .catch((e) => {
        this.logger?.error('webhook email lookup failed', { error: e });
        send(null);
      });
  }

  private threshold(e: ThresholdEventDTO): void {
    this.withEmail(e.userId, (email) =>
      this.outbox.enqueue({
        type: 'threshold.crossed',
        key: `threshold:${e.userId}:${e.periodKey}:${e.threshold}`,
        data: { ...balanceData(e.balance), email, threshold: e.threshold },
      }),
    );
  }

  /** Every refused reserve emits `blocked`; the webhook fires once per user, period and capacity. */
  private blocked(e: BlockedEventDTO): void {
    if (e.reason !== 'quota_exceeded') return;
    const key = `blocked:${e.userId}:${e.balance.periodKey}:${e.balance.limit + e.balance.granted}`;
    if (this.blockedSeen.has(key)) return;
    if (this.blockedSeen.size > 50_000) this.blockedSeen.clear();
    this.blockedSeen.add(key);
    this.withEmail(e.userId, (email) => this.outbox.enqueue({ type: 'user.blocked', key, data: { ...balanceData(e.balance), email } }));
  }

  private request(e: QuotaRequestEventDTO): void {
    const r = e.request;
    const data = { ...r, pendingCount: e.pendingCount };
    if (r.status === 'pending') this.outbox.enqueue({ type: 'quota_request.opened', key: `request:${r.id}:opened`, data });
    else if (r.status === 'approved' || r.status === 'denied') this.outbox.enqueue({ type: 'quota_request.decided', key: `request:${r.id}:decided`, data });
  }

  /**
   * Yesterday's digest, once the local hour reaches SOLARIS_WEBHOOK_DIGEST_HOUR. The marker row makes it
   * once per day across replicas and restarts. Returns whether it was enqueued now.
   */
  async maybeDigest(now: number): Promise<boolean> {
    const hour = this.engine.config.SOLARIS_WEBHOOK_DIGEST_HOUR;
    if (hour >= 24) return false;
    const tz = this.engine.config.SOLARIS_TIMEZONE;
    const pool = this.engine.db.pool;
    const { rows } = await pool.query<{ h: number; day: string; start: Date; end: Date }>(
      `SELECT extract(hour FROM $1::timestamptz AT TIME ZONE $2)::int AS h,
              to_char(($1::timestamptz AT TIME ZONE $2)::date - 1, 'YYYY-MM-DD') AS day,
              solaris_period_start('day', $1::timestamptz - interval '1 day', $2) AS start,
              solaris_period_start('day', $1::timestamptz, $2) AS end`,
      [new Date(now), tz],
    );
    const t = rows[0]!;
    if (t.h < hour) return false;
    const marker = await pool.query(`INSERT INTO webhook_markers (key) VALUES ($1) ON CONFLICT DO NOTHING`, [`digest:${t.day}`]);
    if (marker.rowCount !== 1) return false;
    const [totals, top, pending] = await Promise.all([
      pool.query<{ n: number; w: number; cost: number; users: number }>(
        `SELECT count(*)::int AS n, COALESCE(sum(weighted_tokens), 0) AS w, COALESCE(sum(cost), 0) AS cost, count(DISTINCT user_id)::int AS users
         FROM ledger WHERE created_at >= $1 AND created_at < $2`,
        [t.start, t.end],
      ),
      pool.query<{ user_id: string; email: string | null; w: number }>(
        `SELECT l.user_id, c.email, sum(l.weighted_tokens) AS w FROM ledger l LEFT JOIN users_cache c USING (user_id)
         WHERE l.created_at >= $1 AND l.created_at < $2 GROUP BY l.user_id, c.email ORDER BY w DESC LIMIT 5`,
        [t.start, t.end],
      ),
      pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM quota_requests WHERE status = 'pending'`),
    ]);
    const x = totals.rows[0]!;
    this.outbox.enqueue({
      type: 'usage.daily_digest',
      key: `digest:${t.day}`,
      data: {
        day: t.day,
        requests: x.n,
        weightedTokens: Number(x.w),
        cost: Number(x.cost),
        activeUsers: x.users,
        topUsers: top.rows.map((r) => ({ userId: r.user_id, email: r.email, weightedTokens: Number(r.w) })),
        pendingRequests: pending.rows[0]!.n,
      },
    });
    return true;
  }

  /** For tests and the org tracker. */
  get orgUsage(): OrgUsageTracker {
    return this.org;
  }
}

/**
 * Organisation-wide weighted tokens this calendar month vs SOLARIS_ORG_USAGE_ALERTS. Each process keeps a
 * running total from the ledger events it sees (no query per chat request); when it reaches a level not yet
 * fired, the real total is read from the ledger (other replicas settle too) and the level fires once
 * (marker row). A periodic resync folds in the other replicas' usage.
 */
export class OrgUsageTracker {
  private month: string | null = null;
  private total = 0;
  private fired = new Set<number>();
  private checking = false;

  constructor(
    private readonly engine: QuotaEngine,
    private readonly outbox: OutboxWriter,
    private readonly logger?: Logger,
  ) {}

  private get levels(): number[] {
    return this.engine.config.SOLARIS_ORG_USAGE_ALERTS;
  }

  private monthOf(iso: string): string {
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone: this.engine.config.SOLARIS_TIMEZONE, year: 'numeric', month: '2-digit' }).formatToParts(new Date(iso));
    return `${parts.find((p) => p.type === 'year')!.value}-${parts.find((p) => p.type === 'month')!.value}`;
  }

  add(entry: LedgerEntryDTO): void {
    if (this.levels.length === 0) return;
    const month = this.monthOf(entry.createdAt);
    if (month !== this.month) {
      // First event of a (new) month in this process: the real total comes from the ledger.
      this.month = month;
      this.total = 0;
      this.fired = new Set();
      void this.check(month, entry.createdAt);
      return;
    }
    this.total += entry.weightedTokens;
    if (this.levels.some((l) => this.total >= l && !this.fired.has(l))) void this.check(month, entry.createdAt);
  }

  async resync(): Promise<void> {
    if (this.levels.length === 0 || !this.month) return;
    await this.check(this.month, new Date(this.engine.clock()).toISOString());
  }

  /** Reads the month's real total and fires each level it reached (once, across replicas). */
  async check(month: string, at: string): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const { rows } = await this.engine.db.pool.query<{ used: number }>(
        `SELECT COALESCE(sum(weighted_tokens), 0) AS used FROM ledger
         WHERE created_at >= solaris_period_start('month', $1::timestamptz, $2) AND created_at < solaris_period_end('month', $1::timestamptz, $2)`,
        [at, this.engine.config.SOLARIS_TIMEZONE],
      );
      const used = Number(rows[0]!.used);
      if (this.month === month) this.total = Math.max(this.total, used);
      for (const level of this.levels) {
        if (used < level || this.fired.has(level)) continue;
        this.fired.add(level);
        const key = `org_usage:${month}:${level}`;
        const m = await this.engine.db.pool.query(`INSERT INTO webhook_markers (key) VALUES ($1) ON CONFLICT DO NOTHING`, [key]);
        if (m.rowCount === 1) this.outbox.enqueue({ type: 'org_usage.crossed', key, data: { month, level, used } });
      }
    } catch (e) {
      this.logger?.error('org usage check failed', { error: e });
    } finally {
      this.checking = false;
    }
  }
}
