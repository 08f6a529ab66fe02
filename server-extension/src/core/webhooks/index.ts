import type { QuotaEngine } from '../engine';
import type { Logger } from '../logger';
import { WebhookDispatcher, type DispatcherOptions } from './dispatcher';
import { WebhookEndpoints } from './endpoints';
import { WebhookEventSource } from './events';
import { OutboxWriter, type OutboxOptions } from './outbox';
import { SolarisError } from '../errors';

export { WebhookDispatcher, backoffMs, DEFAULT_DISPATCHER_OPTIONS, type DispatcherOptions } from './dispatcher';
export { WebhookEndpoints, type WebhookEndpoint } from './endpoints';
export { OutboxWriter, type OutboxEvent } from './outbox';
export { WebhookEventSource, OrgUsageTracker } from './events';
export * from './signer';
export { slackText } from './slack';

export interface WebhooksOptions {
  logger?: Logger;
  dispatcher?: Partial<DispatcherOptions>;
  outbox?: OutboxOptions;
  /** Interval of the digest / org-usage resync tick (ms, default 60 s). */
  tickMs?: number;
  /** Deliver from this process (default true). Set false on replicas that should only enqueue. */
  deliver?: boolean;
}

/** The webhook subsystem: endpoints, outbox (write side), dispatcher (delivery), event source (engine → outbox). */
export class Webhooks {
  readonly endpoints: WebhookEndpoints;
  readonly outbox: OutboxWriter;
  readonly dispatcher: WebhookDispatcher;
  readonly source: WebhookEventSource;

  constructor(
    engine: QuotaEngine,
    private readonly opts: WebhooksOptions = {},
  ) {
    this.endpoints = new WebhookEndpoints(engine);
    this.outbox = new OutboxWriter(engine.db, this.endpoints, opts.logger, opts.outbox);
    this.dispatcher = new WebhookDispatcher(
      engine.db,
      this.endpoints,
      { timeoutMs: engine.config.SOLARIS_WEBHOOK_TIMEOUT_MS, maxAttempts: engine.config.SOLARIS_WEBHOOK_MAX_ATTEMPTS, ...opts.dispatcher },
      opts.logger,
    );
    this.source = new WebhookEventSource(engine, this.outbox, opts.logger);
    this.outbox.onWritten = () => this.dispatcher.wake();
  }

  start(): void {
    this.source.start({ tickMs: this.opts.tickMs });
    if (this.opts.deliver ?? true) this.dispatcher.start();
  }

  /** "Send test event": straight to one endpoint (even a deactivated one). Returns the event id. */
  async sendTest(endpointId: string, actor: { id: string }): Promise<string> {
    const ep = await this.endpoints.get(endpointId);
    if (!ep) throw new SolarisError('not_found', `webhook ${endpointId.slice(0, 60)} does not exist`);
    const id = this.outbox.enqueue({ type: 'test', endpointId: ep.id, data: { message: 'Evento de teste / test event', requestedBy: actor.id } });
    await this.outbox.flush();
    return id;
  }

  async close(): Promise<void> {
    this.source.stop();
    await this.outbox.close();
    await this.dispatcher.stop();
  }
}
