import type { Dispatcher } from 'undici';
import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Logger } from '../../core/logger';
import type { Metrics } from '../metrics';
import type { AdmittedTurn, ProxyContext } from './context';
import { createMeteredHandler } from './forward';
import { createIdempotencyStore, type IdempotencyStore } from './idempotency';
import { requireServiceKey } from './middlewares/service-key';
import { createModelsHandler } from './models-cache';
import { createPreflight } from './preflight';
import { createRouter, routeTable, type NodeHandler } from './routes';
import { createSettlement } from './settlement';
import { createTasks } from './tasks';
import { createUpstream } from './upstream';

export type { NodeHandler } from './routes';
export { withStreamUsage } from './upstream';

export interface MeteringProxyOptions {
  engine: QuotaEngine;
  config: SolarisConfig;
  logger?: Logger;
  metrics?: Metrics;
  /** Upstream base URL (LiteLLM). Default: config.LITELLM_URL. The demo passes the fake upstream's URL. */
  upstreamUrl?: string;
  /** Default: config.LITELLM_API_KEY. */
  upstreamApiKey?: string;
  /** Largest accepted request body (images travel as base64). Default 20 MiB. */
  maxBodyBytes?: number;
  /** Settle into the ledger (true) or only gate: reserve, then release (false). Default: SOLARIS_METERING_SOURCE === 'proxy'. */
  writesLedger?: boolean;
  /**
   * A call for a turn the host's gate already admitted and holds tokens for is not held a second time (two holds for
   * one turn refused the last answers of a quota); its answer is capped to the completion tokens the gate's hold
   * covers. Gate-only mode: nothing else happens here; when this proxy writes the ledger it settles the call as usual.
   */
  admittedTurn?: AdmittedTurn;
  /** How long GET /v1/models answers are reused. Default 30 s. */
  modelsCacheMs?: number;
  /** Upsert the caller into users_cache (email, last seen) on each request. Default true. */
  touchUsers?: boolean;
  /** undici dispatcher for upstream calls. Default: an own keep-alive Agent with the configured timeouts. */
  dispatcher?: Dispatcher;
  /** Where Idempotency-Key outcomes are kept. Default: Postgres (idempotency_keys), shared by every replica. */
  idempotency?: IdempotencyStore;
}

export interface MeteringProxy extends NodeHandler {
  /** Resolves when every settlement started so far has finished (tests, graceful shutdown). */
  drain(): Promise<void>;
  /** Drains, then closes the own upstream Agent. */
  close(): Promise<void>;
}

/** Longest close() waits for requests still being answered before it drains the settlements. */
const CLOSE_WAIT_MS = 2_000;

/**
 * The metering proxy: an OpenAI-compatible gate in front of LiteLLM for `/v1/*`.
 * A plain Node handler (no framework on the streaming path): mount it in Express or a bare node:http
 * server. Per request: service key → user → size-limited JSON body → tokenizer estimate → reserve
 * (402 when out of quota) → upstream via undici → answer streamed through chunk by chunk → the ledger
 * settlement runs after the client has its last byte (`drain()` waits for it).
 *
 * A composition of: routes.ts (route table, entry), middlewares/ (service key, body, identity, reservation,
 * composed by preflight.ts), forward.ts + relay-stream.ts (upstream call, answer), settlement.ts (settle /
 * release), models-cache.ts, upstream.ts, tasks.ts (what drain / close wait for).
 */
export function createMeteringProxy(opts: MeteringProxyOptions): MeteringProxy {
  const { engine, config, logger, metrics } = opts;
  const upstreamBase = (opts.upstreamUrl ?? config.LITELLM_URL ?? '').replace(/\/+$/, '').replace(/\/v1$/, '');
  if (!upstreamBase) throw new Error('metering proxy: no upstream (set LITELLM_URL or pass upstreamUrl)');
  if (!config.SOLARIS_PROXY_KEY) throw new Error('metering proxy: SOLARIS_PROXY_KEY is required');
  const authorize = requireServiceKey(config.SOLARIS_PROXY_KEY);
  // Exactly one source writes the ledger (SOLARIS_METERING_SOURCE): elsewhere the proxy gates only.
  const ctx: ProxyContext = {
    engine,
    config,
    logger,
    metrics,
    debug: logger?.isDebugEnabled() ? logger : undefined,
    writesLedger: opts.writesLedger ?? config.SOLARIS_METERING_SOURCE === 'proxy',
    admittedTurn: opts.admittedTurn,
  };
  const upstream = createUpstream({
    base: upstreamBase,
    apiKey: opts.upstreamApiKey ?? config.LITELLM_API_KEY,
    timeout: config.SOLARIS_UPSTREAM_TIMEOUT_MS,
    dispatcher: opts.dispatcher,
  });
  const tasks = createTasks();
  const idempotency = opts.idempotency ?? createIdempotencyStore(engine.db.pool);
  const settlement = createSettlement(ctx, tasks.track);
  const preflight = createPreflight(ctx, settlement, tasks, {
    maxBody: opts.maxBodyBytes ?? 20 * 1024 * 1024,
    touchUsers: opts.touchUsers ?? true,
    idempotency,
  });
  const routes = routeTable({
    metered: createMeteredHandler(ctx, preflight, settlement, upstream, tasks),
    models: createModelsHandler(upstream, opts.modelsCacheMs ?? 30_000, logger),
  });
  const handler = createRouter({ routes, authorize, trackActive: tasks.trackActive, logger, metrics }) as MeteringProxy;

  handler.drain = () => tasks.drain();
  handler.close = async () => {
    await tasks.waitActive(Date.now() + CLOSE_WAIT_MS);
    // Settlements still waiting for a store go on waiting in the engine's queue (engine.close bounds that wait
    // and logs what it leaves): do not hold the shutdown on them here.
    await Promise.race([handler.drain(), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    await upstream.close();
  };
  return handler;
}
