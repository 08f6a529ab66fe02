import { randomUUID } from 'node:crypto';
import type { WebhookEventEnvelope, WebhookEventType } from '@solaris/wire';
import type { Database } from '../db';
import type { Logger } from '../logger';
import { endpointWants, type WebhookEndpoints } from './endpoints';
import { eventIdFor } from './signer';
import { RetryQueue } from '../retry-queue';

/** The Postgres channel an enqueue notifies, which every replica's dispatcher listens on (LISTEN). */
export const WEBHOOK_CHANNEL = 'solaris_webhooks';

export interface OutboxEvent {
  type: WebhookEventType;
  data: Record<string, unknown>;
  /** Natural key of the event ("threshold:<user>:<period>:80"): the same key is the same event id (de-dup). */
  key?: string;
  /** Deliver only to this endpoint (the "send test event" button). */
  endpointId?: string;
  createdAt?: number;
}

export interface OutboxOptions {
  /** Flush after this many queued events, or … */
  maxBatch?: number;
  /** … this long after the first one (ms). */
  maxWaitMs?: number;
  /** First retry delay after a failed write (the one back-off, core/retry-queue.ts). Default 250 ms. */
  retryBaseMs?: number;
}

/**
 * The write side of the durable outbox (the `webhook_outbox` table). `enqueue` is synchronous and O(1) — it
 * runs inside engine event listeners, on the chat path — and never throws: events are buffered, then fanned out
 * to the matching endpoints and written in ONE multi-row INSERT per batch (ON CONFLICT (event_id, endpoint_id)
 * DO NOTHING, so an event raised twice is stored once). A failed write is retried (RetryQueue: back-off,
 * metric, log line while it waits) until it commits — an event is never dropped (docs/architecture.md,
 * "One outbox").
 */
export class OutboxWriter {
  private targets = new Map<string, string>(); // event id → only endpoint
  private readonly queue: RetryQueue<WebhookEventEnvelope, void>;
  /** Called after each committed batch (the dispatcher wakes up instead of waiting for its next poll). */
  onWritten: (() => void) | null = null;

  constructor(
    private readonly db: Database,
    private readonly endpoints: WebhookEndpoints,
    private readonly logger?: Logger,
    private readonly opts: OutboxOptions = {},
  ) {
    this.queue = new RetryQueue<WebhookEventEnvelope, void>({
      name: 'webhooks',
      write: (batch) => this.writeBatch(batch),
      maxBatch: opts.maxBatch ?? 200,
      lingerMs: opts.maxWaitMs ?? 20,
      baseMs: opts.retryBaseMs,
      logger,
      describe: (ev) => `${ev.type}:${ev.id}`,
    });
  }

  /** Buffers an event; returns its id. */
  enqueue(e: OutboxEvent): string {
    const id = e.key ? eventIdFor(e.key) : randomUUID();
    if (e.endpointId) this.targets.set(id, e.endpointId);
    this.queue.push({ id, type: e.type, createdAt: new Date(e.createdAt ?? Date.now()).toISOString(), data: e.data }).catch(() => undefined);
    return id;
  }

  /** Events not written yet (being written or waiting for a retry). */
  stats() {
    return this.queue.stats();
  }

  /** Writes everything buffered so far; waits at most `timeoutMs` for a store that is down. */
  async flush(timeoutMs = 5_000): Promise<void> {
    await this.queue.drain(timeoutMs);
  }

  private async writeBatch(batch: WebhookEventEnvelope[]): Promise<void[]> {
    const endpoints = await this.endpoints.active();
    const rows: { eventId: string; endpointId: string; type: string; payload: string }[] = [];
    for (const ev of batch) {
      const only = this.targets.get(ev.id);
      for (const ep of endpoints) {
        if (only ? ep.id === only : endpointWants(ep, ev.type)) rows.push({ eventId: ev.id, endpointId: ep.id, type: ev.type, payload: JSON.stringify(ev) });
      }
      // A test event for an inactive endpoint is still sent (the admin asked for it).
      if (only && !endpoints.some((ep) => ep.id === only)) rows.push({ eventId: ev.id, endpointId: only, type: ev.type, payload: JSON.stringify(ev) });
    }
    if (rows.length) {
      await this.db.pool.query(
        `INSERT INTO webhook_outbox (event_id, endpoint_id, event_type, payload)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])
         ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
        [rows.map((r) => r.eventId), rows.map((r) => r.endpointId), rows.map((r) => r.type), rows.map((r) => r.payload)],
      );
    }
    // Only once committed: a batch retried after a failure still knows its targets.
    for (const ev of batch) this.targets.delete(ev.id);
    if (rows.length) {
      this.onWritten?.();
      // The other replicas' dispatchers (LISTEN): they would otherwise find the rows at their safety poll.
      this.db.pool.query(`SELECT pg_notify('${WEBHOOK_CHANNEL}', '')`).catch(() => undefined);
    }
    return batch.map(() => undefined);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
