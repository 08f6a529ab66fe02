/** Webhook endpoints, events and deliveries (docs/webhooks.md). */

export const WEBHOOK_EVENT_TYPES = [
  'threshold.crossed',
  'user.blocked',
  'quota_request.opened',
  'quota_request.decided',
  'org_usage.crossed',
  'usage.daily_digest',
  'test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Body of every JSON webhook (format 'json'). `id` = X-Solaris-Event-Id (de-duplicate on it). */
export interface WebhookEventEnvelope<T = Record<string, unknown>> {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: T;
}

export interface WebhookEndpointDTO {
  id: string;
  name: string;
  url: string;
  /** Event types delivered; empty = all. */
  events: WebhookEventType[];
  format: 'json' | 'slack';
  active: boolean;
  /** 'env' endpoints come from SOLARIS_WEBHOOK_URLS and are read-only here. */
  source: 'admin' | 'env';
  createdAt: string | null;
}
/** Returned once, on creation: the signing secret is never shown again. */
export interface WebhookEndpointCreatedDTO extends WebhookEndpointDTO {
  secret: string;
}
export interface WebhookEndpointInput {
  name?: string;
  url: string;
  events?: WebhookEventType[];
  format?: 'json' | 'slack';
  active?: boolean;
}
export interface WebhookDeliveryDTO {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  statusCode: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  createdAt: string;
}
