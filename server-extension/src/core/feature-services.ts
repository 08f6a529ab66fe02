import type { QuotaEngine } from './engine';
import type { Logger } from './logger';
import { PersonalSettings } from './personal-settings';
import { QuotaRequests } from './quota-requests';
import { RolePlans } from './role-plans';
import { Webhooks, type WebhooksOptions } from './webhooks';

/**
 * The services built on the engine beyond the counter: personal caps, quota requests, plans by role and
 * webhooks. Create once per process next to the engine, `start()` it (webhook listeners, dispatcher, digest
 * tick), `close()` before the engine. Role plans and caps need nothing running: they live in the policy
 * snapshot SQL.
 */
export interface FeatureServices {
  settings: PersonalSettings;
  requests: QuotaRequests;
  rolePlans: RolePlans;
  webhooks: Webhooks;
  start(): void;
  close(): Promise<void>;
}

export function createFeatureServices(engine: QuotaEngine, opts: { logger?: Logger; webhooks?: WebhooksOptions } = {}): FeatureServices {
  const webhooks = new Webhooks(engine, { logger: opts.logger, ...opts.webhooks });
  return {
    settings: new PersonalSettings(engine),
    requests: new QuotaRequests(engine, opts.logger),
    rolePlans: new RolePlans(engine),
    webhooks,
    start: () => webhooks.start(),
    close: () => webhooks.close(),
  };
}

// The former names, still used by the composition roots (standalone.ts, app.ts, entry/demo.ts, the LibreChat
// runtime) until they are rewritten: switch them to the names above, then delete these two lines.
export type SolarisExtras = FeatureServices;
export const createExtras = createFeatureServices;
