import { randomUUID } from 'node:crypto';
import type { WebhookEventEnvelope, WebhookEventType } from '@solaris/wire';
import type { Database } from '../db';
import type { Logger } from '../logger';
import { endpointWants, type WebhookEndpoints } from './endpoints';
import { eventIdFor } from './signer';

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
  /** Events waiting in memory beyond this are dropped (and logged): a dead database must not eat the heap. */
  maxQueued?: number;
}

/**
 * The write side of the durable outbox. `enqueue` is synchronous and O(1) — it runs inside engine event
 * listeners, on the chat path — and never throws: events are buffered, then fanned out to the matching
 * endpoints and written in ONE multi-row INSERT per batch (ON CONFLICT (event_id, endpoint_id) DO NOTHING,
 * so an event raised twice is stored once). Errors are logged, never surfaced to the request.
 */
export class OutboxWriter {
  private queue: WebhookEventEnvelope[] = [];
  private targets = new Map<string, string>(); // event id → only endpoint
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** Called after each committed batch (the dispatcher wakes up instead of waiting for its next poll). */
  onWritten: (() => void) | null = null;

  constructor(
    private readonly db: Database,
    private readonly endpoints: WebhookEndpoints,
    private readonly logger?: Logger,
    private readonly opts: OutboxOptions = {},
  ) {}

  /** Buffers an event; returns its id. */
  enqueue(e: OutboxEvent): string {
    const id = e.key ? eventIdFor(e.key) : randomUUID();
    if (this.queue.length >= (this.opts.maxQueued ?? 10_000)) {
      this.logger?.error('webhook outbox buffer full: event dropped', { type: e.type, eventId: id });
      return id;
    }
    this.queue.push({ id, type: e.type, createdAt: new Date(e.createdAt ?? Date.now()).toISOString(), data: e.data });
    if (e.endpointId) this.targets.set(id, e.endpointId);
    if (this.queue.length >= (this.opts.maxBatch ?? 200)) this.schedule(0);
    else this.schedule(this.opts.maxWaitMs ?? 20);
    return id;
  }

  private schedule(ms: number): void {
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.timer.unref?.();
  }

  /** Writes everything buffered so far (batches run one after another). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBatch());
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.opts.maxBatch ?? 200);
      try {
        const endpoints = await this.endpoints.active();
        const rows: { eventId: string; endpointId: string; type: string; payload: string }[] = [];
        for (const ev of batch) {
          const only = this.targets.get(ev.id);
          this.targets.delete(ev.id);
          for (const ep of endpoints) {
            if (only ? ep.id === only : endpointWants(ep, ev.type)) rows.push({ eventId: ev.id, endpointId: ep.id, type: ev.type, payload: JSON.stringify(ev) });
          }
          // A test event for an inactive endpoint is still sent (the admin asked for it).
          if (only && !endpoints.some((ep) => ep.id === only)) rows.push({ eventId: ev.id, endpointId: only, type: ev.type, payload: JSON.stringify(ev) });
        }
        if (rows.length === 0) continue;
        await this.db.pool.query(
          `INSERT INTO webhook_outbox (event_id, endpoint_id, event_type, payload)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])
           ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
          [rows.map((r) => r.eventId), rows.map((r) => r.endpointId), rows.map((r) => r.type), rows.map((r) => r.payload)],
        );
        this.onWritten?.();
      } catch (e) {
        this.logger?.error('webhook outbox write failed: events dropped', { error: e, events: batch.length, types: [...new Set(batch.map((b) => b.type))] });
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
