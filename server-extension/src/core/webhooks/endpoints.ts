import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, type WebhookEndpointCreatedDTO, type WebhookEndpointDTO, type WebhookEventType } from '@solaris/wire';
import type { QuotaEngine } from '../engine';
import type { Actor } from '../admin';
import { SolarisError } from '../errors';
import { parseWith } from '../validation';
import { newWebhookSecret } from './signer';

/** An endpoint as the dispatcher needs it (with its secret: never sent to a client, never logged). */
export interface WebhookEndpoint extends WebhookEndpointDTO {
  secret: string;
}

const eventsSchema = z.array(z.enum(WEBHOOK_EVENT_TYPES)).max(WEBHOOK_EVENT_TYPES.length);
const inputSchema = z
  .object({
    name: z.string().trim().max(200).optional(),
    url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }).max(2000),
    events: eventsSchema.optional(),
    format: z.enum(['json', 'slack']).optional(),
    active: z.boolean().optional(),
  })
  .strict();
const idSchema = z.string().regex(/^wh_[A-Za-z0-9]{6,40}$/, 'unknown webhook id');

interface Row {
  id: string;
  name: string;
  url: string;
  secret: string;
  events: string[];
  format: 'json' | 'slack';
  active: boolean;
  created_at: Date;
}

const CACHE_MS = 5_000;

/**
 * Endpoints from the admin tab (table webhook_endpoints) plus the operator's SOLARIS_WEBHOOK_URLS (kept in
 * memory only, read-only here). The active list is cached a few seconds: enqueueing runs on every event.
 */
export class WebhookEndpoints {
  private readonly envEndpoints: WebhookEndpoint[];
  private cache: { at: number; list: WebhookEndpoint[] } | null = null;

  constructor(private readonly engine: QuotaEngine) {
    this.envEndpoints = engine.config.SOLARIS_WEBHOOK_URLS.map((e) => ({
      // Stable id across restarts (outbox rows refer to it), derived from the URL, not the secret.
      id: 'env_' + createHash('sha256').update(e.url).digest('hex').slice(0, 12),
      name: e.name ?? 'env',
      url: e.url,
      secret: e.secret,
      events: (e.events ?? []).filter((x): x is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(x)),
      format: e.format ?? 'json',
      active: true,
      source: 'env' as const,
      createdAt: null,
    }));
  }

  private get pool() {
    return this.engine.db.pool;
  }

  /** Every active endpoint (cached CACHE_MS). */
  async active(): Promise<WebhookEndpoint[]> {
    if (this.cache && Date.now() - this.cache.at < CACHE_MS) return this.cache.list;
    const { rows } = await this.pool.query<Row>(`SELECT * FROM webhook_endpoints WHERE active ORDER BY created_at, id`);
    const list = [...this.envEndpoints, ...rows.map(fromRow)];
    this.cache = { at: Date.now(), list };
    return list;
  }

  /** One endpoint by id, active or not (the dispatcher and the test button). */
  async get(id: string): Promise<WebhookEndpoint | null> {
    const env = this.envEndpoints.find((e) => e.id === id);
    if (env) return env;
    const { rows } = await this.pool.query<Row>(`SELECT * FROM webhook_endpoints WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  invalidate(): void {
    this.cache = null;
  }

  /** For the admin tab: no secrets; env URLs show only their origin (a Slack URL is itself a secret). */
  async list(): Promise<WebhookEndpointDTO[]> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM webhook_endpoints ORDER BY created_at, id`);
    return [...this.envEndpoints.map((e) => ({ ...toDTO(e), url: new URL(e.url).origin + '/…' })), ...rows.map((r) => toDTO(fromRow(r)))];
  }

  async create(input: unknown, actor: Actor): Promise<WebhookEndpointCreatedDTO> {
    const i = parseWith(inputSchema, input);
    const id = 'wh_' + randomBytes(9).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
    const secret = newWebhookSecret();
    const { rows } = await this.pool.query<Row>(
      `WITH ins AS (
         INSERT INTO webhook_endpoints (id, name, url, secret, events, format, active, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *
       ), audit AS (
         INSERT INTO audit_log (actor_id, actor_email, action, details)
         VALUES ($8, $9, 'webhook.create', jsonb_build_object('id', $1::text, 'url', $3::text, 'events', $5::text[], 'format', $6::text))
       )
       SELECT * FROM ins`,
      [id, i.name ?? '', i.url, secret, i.events ?? [], i.format ?? 'json', i.active ?? true, actor.id, actor.email ?? null],
    );
    this.invalidate();
    return { ...toDTO(fromRow(rows[0]!)), secret };
  }

  async update(idRaw: string, input: unknown, actor: Actor): Promise<WebhookEndpointDTO> {
    const id = this.adminId(idRaw);
    const i = parseWith(inputSchema.partial(), input);
    const { rows } = await this.pool.query<Row>(
      `WITH upd AS (
         UPDATE webhook_endpoints SET name = COALESCE($2, name), url = COALESCE($3, url), events = COALESCE($4, events),
           format = COALESCE($5, format), active = COALESCE($6, active), updated_at = now()
         WHERE id = $1 RETURNING *
       ), audit AS (
         INSERT INTO audit_log (actor_id, actor_email, action, details)
         SELECT $7, $8, 'webhook.update', jsonb_build_object('id', $1::text, 'changes', $9::jsonb) FROM upd
       )
       SELECT * FROM upd`,
      [id, i.name ?? null, i.url ?? null, i.events ?? null, i.format ?? null, i.active ?? null, actor.id, actor.email ?? null, JSON.stringify(i)],
    );
    if (!rows[0]) throw new SolarisError('not_found', `webhook ${id} does not exist`);
    this.invalidate();
    return toDTO(fromRow(rows[0]));
  }

  async remove(idRaw: string, actor: Actor): Promise<void> {
    const id = this.adminId(idRaw);
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH del AS (DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id, url), audit AS (
         INSERT INTO audit_log (actor_id, actor_email, action, details)
         SELECT $2, $3, 'webhook.delete', jsonb_build_object('id', id, 'url', url) FROM del
       ) SELECT id FROM del`,
      [id, actor.id, actor.email ?? null],
    );
    if (!rows[0]) throw new SolarisError('not_found', `webhook ${id} does not exist`);
    this.invalidate();
  }

  private adminId(idRaw: string): string {
    if (this.envEndpoints.some((e) => e.id === idRaw)) {
      throw new SolarisError('forbidden', 'Endpoints de SOLARIS_WEBHOOK_URLS são configurados no ambiente / env endpoints are read-only');
    }
    const r = idSchema.safeParse(idRaw);
    if (!r.success) throw new SolarisError('not_found', `webhook ${String(idRaw).slice(0, 60)} does not exist`);
    return r.data;
  }
}

function fromRow(r: Row): WebhookEndpoint {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    secret: r.secret,
    events: r.events as WebhookEventType[],
    format: r.format,
    active: r.active,
    source: 'admin',
    createdAt: r.created_at.toISOString(),
  };
}

function toDTO(e: WebhookEndpoint): WebhookEndpointDTO {
  return { id: e.id, name: e.name, url: e.url, events: e.events, format: e.format, active: e.active, source: e.source, createdAt: e.createdAt };
}

export function endpointWants(e: Pick<WebhookEndpoint, 'events' | 'active'>, type: WebhookEventType): boolean {
  return e.active && (type === 'test' || e.events.length === 0 || e.events.includes(type));
}
