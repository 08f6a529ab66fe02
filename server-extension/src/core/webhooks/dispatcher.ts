import pg from 'pg';
import type { WebhookDeliveryDTO, WebhookEventEnvelope } from '@solaris/wire';
import type { Database } from '../db';
import type { Logger } from '../logger';
import type { WebhookEndpoint, WebhookEndpoints } from './endpoints';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signatureHeader } from './signer';
import { slackText } from './slack';
import { WEBHOOK_CHANNEL } from './outbox';

export interface DispatcherOptions {
  /**
   * Longest idle sleep (ms), the safety poll. Idle, the loop sleeps until the next row is due (a retry's
   * back-off); an enqueue in this process wakes it at once, one in another replica through Postgres
   * NOTIFY (WEBHOOK_CHANNEL), so nothing waits for this poll but a lost notification.
   */
  pollMs: number;
  /** Rows claimed per poll. */
  batchSize: number;
  /** Per-attempt timeout (ms). */
  timeoutMs: number;
  maxAttempts: number;
  /** Back-off: base × 2^(attempt−1), capped, times a random factor in [0.5, 1) (jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Delivered/failed outbox rows, delivery log entries and fire-once markers older than this are deleted. */
  retentionDays: number;
  /** How often a replica prunes (ms). */
  pruneEveryMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  pollMs: 30_000,
  batchSize: 50,
  timeoutMs: 5_000,
  maxAttempts: 8,
  baseDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  retentionDays: 30,
  pruneEveryMs: 3_600_000,
};

interface OutboxRow {
  id: number;
  event_id: string;
  endpoint_id: string;
  event_type: string;
  payload: WebhookEventEnvelope;
  attempts: number;
}

export function backoffMs(attempt: number, o: Pick<DispatcherOptions, 'baseDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const raw = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.5 + random() / 2));
}

/**
 * Delivers the outbox. Safe with several replicas: rows are claimed with `FOR UPDATE SKIP LOCKED` and leased
 * (next_attempt_at pushed past the time the batch can take), so a crashed replica's rows come back by
 * themselves — at-least-once; receivers de-duplicate on X-Solaris-Event-Id.
 * Per endpoint, rows go one after another in creation order; after a failure the rest of that endpoint's
 * batch waits for the same back-off, so one hanging receiver costs one timeout per poll, and other
 * endpoints are served in parallel.
 */
export class WebhookDispatcher {
  readonly opts: DispatcherOptions;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private wakeResolve: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly inflight = new Set<AbortController>();
  private lastPrune = 0;
  private listener: pg.Client | null = null;
  private listenWarned = false;

  constructor(
    private readonly db: Database,
    private readonly endpoints: WebhookEndpoints,
    opts: Partial<DispatcherOptions> = {},
    private readonly logger?: Logger,
  ) {
    this.opts = { ...DEFAULT_DISPATCHER_OPTIONS, ...opts };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let n = 0;
        try {
          n = await this.runOnce();
          if (Date.now() - this.lastPrune >= this.opts.pruneEveryMs) {
            this.lastPrune = Date.now();
            await this.prune();
          }
        } catch (e) {
          this.logger?.error('webhook dispatcher poll failed', { error: e });
        }
        if (n === 0 && this.running) {
          void this.listen();
          await this.sleep(await this.idleMs());
        }
      }
    })();
  }

  /** Until the next pending row is due (a retry's back-off), at most pollMs. */
  private async idleMs(): Promise<number> {
    try {
      const { rows } = await this.db.pool.query<{ ms: number | null }>({
        name: 'solaris_webhook_next_due',
        text: `SELECT (EXTRACT(EPOCH FROM min(next_attempt_at) - now()) * 1000)::float8 AS ms FROM webhook_outbox WHERE status = 'pending'`,
      });
      const ms = rows[0]?.ms;
      return ms == null ? this.opts.pollMs : Math.min(this.opts.pollMs, Math.max(50, Math.ceil(ms)));
    } catch {
      return Math.min(this.opts.pollMs, 1_000); // Postgres unreachable: poll as before until it is back
    }
  }

  /**
   * LISTEN on its own connection (not a pool one: it stays checked out), so an enqueue in another replica
   * wakes this one. Without it (PGlite, a pooler in transaction mode, a dropped connection) the safety poll
   * and the in-process wake still deliver; a dropped listener is re-opened at the next idle turn.
   */
  private async listen(): Promise<void> {
    if (this.listener || !this.running || this.db.embedded) return;
    const client = new pg.Client({ ...this.db.pool.options, keepAlive: true });
    this.listener = client;
    const drop = () => {
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', () => this.wake());
    try {
      await client.connect();
      await client.query(`LISTEN ${WEBHOOK_CHANNEL}`);
      if (!this.running) drop();
    } catch (e) {
      if (!this.listenWarned) this.logger?.warn('webhook dispatcher: LISTEN unavailable; the safety poll delivers', { error: e });
      this.listenWarned = true;
      drop();
    }
  }

  /** Poll now (after an enqueue in this process). */
  wake(): void {
    this.wakeResolve?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.timer = setTimeout(resolve, ms);
      this.wakeResolve = () => {
        if (this.timer) clearTimeout(this.timer);
        resolve();
      };
    }).then(() => {
      this.wakeResolve = null;
      this.timer = null;
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    this.wake();
    for (const c of this.inflight) c.abort();
    await this.loop;
    this.loop = null;
  }

  /**
   * Deletes what is done and old (retentionDays): delivered or failed outbox rows, delivery log entries, and
   * fire-once markers (month/day keys long past). Pending rows are never deleted. Several replicas pruning
   * at once delete the same rows once. Returns the rows deleted per table.
   */
  async prune(now = Date.now()): Promise<{ outbox: number; deliveries: number; markers: number }> {
    const before = new Date(now - this.opts.retentionDays * 86_400_000);
    const outbox = await this.db.pool.query(
      `DELETE FROM webhook_outbox WHERE status IN ('delivered', 'failed') AND COALESCE(delivered_at, created_at) < $1`,
      [before],
    );
    const deliveries = await this.db.pool.query(`DELETE FROM webhook_deliveries WHERE created_at < $1`, [before]);
    // Markers are month/day keys: keep them well past their period so a late event never fires twice.
    const markers = await this.db.pool.query(`DELETE FROM webhook_markers WHERE created_at < $1`, [new Date(now - Math.max(this.opts.retentionDays, 62) * 86_400_000)]);
    const out = { outbox: outbox.rowCount ?? 0, deliveries: deliveries.rowCount ?? 0, markers: markers.rowCount ?? 0 };
    if (out.outbox + out.deliveries + out.markers > 0) this.logger?.info('webhooks: old rows pruned', out);
    return out;
  }

  /** Claims and delivers one batch of due rows; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const leaseSeconds = Math.ceil((this.opts.timeoutMs * this.opts.batchSize) / 1000) + 30;
    const { rows } = await this.db.pool.query<OutboxRow>(
      `UPDATE webhook_outbox o SET next_attempt_at = now() + make_interval(secs => $2)
       FROM (SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
       WHERE o.id = due.id
       RETURNING o.id, o.event_id, o.endpoint_id, o.event_type, o.payload, o.attempts`,
      [this.opts.batchSize, leaseSeconds],
    );
    if (rows.length === 0) return 0;
    const byEndpoint = new Map<string, OutboxRow[]>();
    for (const r of rows.sort((a, b) => a.id - b.id)) byEndpoint.set(r.endpoint_id, [...(byEndpoint.get(r.endpoint_id) ?? []), r]);
    await Promise.all([...byEndpoint].map(([id, list]) => this.deliverAll(id, list)));
    return rows.length;
  }

  private async deliverAll(endpointId: string, list: OutboxRow[]): Promise<void> {
    const endpoint = await this.endpoints.get(endpointId);
    if (!endpoint || !endpoint.active) {
      // Removed: nothing can be sent. Deactivated: only a "send test event" still goes out.
      const dropped = list.filter((r) => !endpoint || r.event_type !== 'test');
      if (dropped.length) {
        await this.db.pool.query(`UPDATE webhook_outbox SET status = 'failed', last_error = $2 WHERE id = ANY($1::bigint[])`, [
          dropped.map((r) => r.id),
          endpoint ? 'endpoint inactive' : 'endpoint removed',
        ]);
      }
      list = list.filter((r) => !dropped.includes(r));
    }
    if (!endpoint) return;
    for (let i = 0; i < list.length; i++) {
      const row = list[i]!;
      const ok = await this.deliver(endpoint, row);
      if (!ok && i + 1 < list.length) {
        // Do not hammer a failing receiver with the rest of the batch: they wait for the same back-off.
        const rest = list.slice(i + 1).map((r) => r.id);
        await this.db.pool.query(`UPDATE webhook_outbox SET next_attempt_at = now() + make_interval(secs => $2) WHERE id = ANY($1::bigint[])`, [
          rest,
          backoffMs(row.attempts + 1, this.opts) / 1000,
        ]);
        return;
      }
    }
  }

  /** One attempt: POST, record it in the delivery log, schedule the next attempt or finish. */
  private async deliver(endpoint: WebhookEndpoint, row: OutboxRow): Promise<boolean> {
    const attempt = row.attempts + 1;
    const body = endpoint.format === 'slack' ? JSON.stringify({ text: slackText(row.payload) }) : JSON.stringify(row.payload);
    const ts = Math.floor(Date.now() / 1000);
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = setTimeout(() => controller.abort(new Error(`timeout after ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        redirect: 'manual', // a redirect is a failure, not a hop to somewhere else
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Solaris-Webhooks/1',
          [EVENT_ID_HEADER]: row.event_id,
          [EVENT_TYPE_HEADER]: row.event_type,
          [TIMESTAMP_HEADER]: String(ts),
          [SIGNATURE_HEADER]: signatureHeader(endpoint.secret, ts, body),
        },
        body,
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (e) {
      const cause = controller.signal.aborted ? controller.signal.reason : e;
      error = cause instanceof Error ? cause.message.slice(0, 300) : 'request failed';
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
    const ok = error === null;
    const durationMs = Math.round(performance.now() - started);
    const final = !ok && attempt >= this.opts.maxAttempts;
    await this.db.pool.query(
      `WITH upd AS (
         UPDATE webhook_outbox SET attempts = $2, last_error = $3,
           status = CASE WHEN $4 THEN 'delivered' WHEN $5 THEN 'failed' ELSE 'pending' END,
           delivered_at = CASE WHEN $4 THEN now() END,
           next_attempt_at = CASE WHEN $4 OR $5 THEN next_attempt_at ELSE now() + make_interval(secs => $6) END
         WHERE id = $1
       )
       INSERT INTO webhook_deliveries (outbox_id, endpoint_id, event_id, event_type, attempt, status_code, ok, error, duration_ms)
       VALUES ($1, $7, $8, $9, $2, $10, $4, $3, $11)`,
      [row.id, attempt, error, ok, final, backoffMs(attempt, this.opts) / 1000, endpoint.id, row.event_id, row.event_type, status, durationMs],
    );
    // Endpoint id and event only: the URL may itself be a secret (Slack), the secret never appears.
    if (!ok) this.logger?.warn('webhook delivery failed', { endpointId: endpoint.id, eventId: row.event_id, attempt, error, final });
    return ok;
  }

  /** The delivery log for the admin tab, newest first. */
  async deliveries(opts: { endpointId?: string; limit?: number } = {}): Promise<WebhookDeliveryDTO[]> {
    const { rows } = await this.db.pool.query<{
      id: number;
      endpoint_id: string;
      event_id: string;
      event_type: string;
      attempt: number;
      status_code: number | null;
      ok: boolean;
      error: string | null;
      duration_ms: number;
      created_at: Date;
    }>(
      `SELECT * FROM webhook_deliveries WHERE ($1::text IS NULL OR endpoint_id = $1) ORDER BY created_at DESC, id DESC LIMIT $2`,
      [opts.endpointId ?? null, opts.limit ?? 50],
    );
    return rows.map((r) => ({
      id: String(r.id),
      endpointId: r.endpoint_id,
      eventId: r.event_id,
      eventType: r.event_type,
      attempt: r.attempt,
      statusCode: r.status_code,
      ok: r.ok,
      error: r.error,
      durationMs: r.duration_ms,
      createdAt: r.created_at.toISOString(),
    }));
  }
}
