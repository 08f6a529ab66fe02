/**
 * The one composition root: engine, extras, the realtime feed, health, then the HTTP side (runtime-http.ts:
 * authenticator, REST API + widget + socket.io, the LiteLLM webhook, the metering proxy, metrics), and the
 * graceful shutdown. The standalone server, the demo and the LibreChat plugin all build this; they differ only in
 * what they pass (authenticator or its parts, upstream URL, where the routes are mounted, `lazy`) and in whether
 * they `listen()` on a server of their own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { SOCKET_PATH } from '@solaris/wire';
import type { SolarisConfig } from './core/config';
import { createEngine, type EngineRuntime } from './core/create-engine';
import { createFeatureServices as createExtras, type FeatureServices as SolarisExtras } from './core/feature-services';
import type { QuotaEngine } from './core/engine';
import type { Logger } from './core/logger';
import type { LibreChatAuthOptions } from './adapters/auth';
import type { Authenticator } from './adapters/auth/types';
import { createHealthHandlers, type HealthHandlers } from './adapters/proxy/health';
import { createRealtimeFeed } from './adapters/realtime-feed';
import { createRoomEmitter, type RoomEmitter } from './adapters/realtime-emitter';
import type { Realtime } from './adapters/realtime';
import type { SolarisHttp } from './runtime-http';
import type { AdmittedTurn } from './adapters/proxy/context';

export type { SolarisHttp } from './runtime-http';

export interface SolarisRuntimeOptions {
  logger: Logger;
  /** Reuse an engine (tests); its owner closes it. Otherwise one is built from the configuration. */
  engine?: EngineRuntime;
  /** For the engine built here: a Redis client of the caller's (the plugin's), `null` = Postgres store. */
  redis?: Redis | null;
  /** For the engine built here: apply pending migrations first (default: only on the embedded database). */
  migrate?: boolean;
  /** Who calls /solaris/*. Default: LibreChat's tokens (createLibreChatAuthenticator) with the parts below. */
  authenticator?: Authenticator;
  /** Parts of the default authenticator: LibreChat's sessions / users (plugin), demo secrets and cache. */
  auth?: Pick<LibreChatAuthOptions, 'sessionChecker' | 'userDirectory' | 'secrets' | 'cacheTtlMs'>;
  /** The metering proxy's upstream. Default: LITELLM_URL. The proxy runs when SOLARIS_PROXY_KEY and an upstream are set. */
  upstreamUrl?: string;
  /** The host's chat gate, for the proxy (MeteringProxyOptions.admittedTurn): the plugin. */
  admittedTurn?: AdmittedTurn;
  /**
   * Where health, metrics and the proxy sit: '' → /healthz, /readyz, /metrics, /v1/* (standalone, demo);
   * '/solaris' inside LibreChat, whose own routes own the rest of the path space (matched in any casing).
   */
  mount?: '' | '/solaris';
  /** How long in-flight requests (long LLM streams) may finish after a shutdown signal. Default 10 s. */
  drainTimeoutMs?: number;
  /**
   * Load the HTTP side (runtime-http.ts) on first use, not now: the first request under the mount other than
   * health, or the first socket.io request or upgrade on the server given to `attach()`. Until then engine
   * events reach the other replicas' sockets through Redis directly (realtime-emitter.ts). The LibreChat plugin:
   * LibreChat's start-up and a process that only serves chats do not pay for express, socket.io and undici.
   */
  lazy?: boolean;
  /** Redis pub/sub channel prefix of socket.io's rooms (default CHANNEL_PREFIX; tests isolate on a shared Redis). */
  channelPrefix?: string;
}

export interface ListenOptions {
  port: number;
  host: string;
  /** Requests that are none of ours (the demo's page). Default: our JSON 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface SolarisRuntime {
  config: SolarisConfig;
  engine: QuotaEngine;
  /** The HTTP side: authenticator, REST API + socket.io (`solaris`), proxy, metrics; loaded now if it was not yet. */
  http(): Promise<SolarisHttp>;
  /** Everything of ours (see `mount`); anything else goes to `next`, or gets our JSON 404. */
  handle(req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  /** socket.io on a host's server (the plugin: LibreChat's), at once or (`lazy`) at its first socket request. `listen()` attaches its own. */
  attach(server: Server): void;
  /** Serves `handle` on a server of our own (standalone, demo). */
  listen(opts: ListenOptions): Promise<{ server: Server; url: string }>;
  /** Our server, once listening. */
  server: Server | null;
  url: string | null;
  /** Stop accepting, close socket.io, let requests finish (bounded), drain the proxy, close extras and engine. Idempotent. */
  shutdown(): Promise<void>;
}

function notFound(res: ServerResponse, message: string): void {
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: { code: 'not_found', message } }));
}

function unavailable(res: ServerResponse): void {
  if (res.headersSent) return;
  res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: { code: 'store_unavailable', message: 'Solaris could not load its HTTP side (see the log).' } }));
}

/** The path below `mount`, or null when the request is not under it (the mount is matched in any casing, like isSolarisPath). */
function below(mount: string, url: string | undefined): string | null {
  const path = (url ?? '/').split('?')[0]!;
  if (!mount) return path;
  return path.slice(0, mount.length).toLowerCase() === mount ? path.slice(mount.length) : null;
}

/** engine.io's own test of its requests (engine.io lib/server.js `attach`): exact prefix, letter case included. */
const SOCKET_PREFIX = SOCKET_PATH.replace(/\/$/, '') + '/';
const isSocketRequest = (url: string | undefined) => (url ?? '').slice(0, SOCKET_PREFIX.length) === SOCKET_PREFIX;

/** Health (and metrics on our own port) first, then the proxy below `mount`, then the REST API and widget. */
function router(mount: string, health: HealthHandlers) {
  const table: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/healthz': health.healthz,
    '/readyz': health.readyz,
  };
  // Metrics are unauthenticated (Prometheus scrapes them): only on our own port, never on LibreChat's public
  // origin, where anyone could read them (docs/security.md).
  if (mount === '') table['/metrics'] = health.metrics;
  return {
    /** The health route for this request, if it is one (answered without the HTTP side). */
    healthRoute(req: IncomingMessage) {
      const rel = below(mount, req.url);
      return rel === null ? undefined : table[rel];
    },
    http(h: SolarisHttp, req: IncomingMessage, res: ServerResponse, next?: () => void): void {
      const rel = below(mount, req.url);
      if (rel !== null && (rel === '/v1' || rel.startsWith('/v1/'))) {
        if (!h.proxy) return notFound(res, 'Metering proxy disabled: set SOLARIS_PROXY_KEY and LITELLM_URL');
        req.url = req.url!.slice(mount.length);
        return h.proxy(req, res, () => notFound(res, 'Route not found'));
      }
      h.solaris.handle(req, res, next ?? (() => notFound(res, 'Route not found')));
    },
  };
}

export async function createSolarisRuntime(config: SolarisConfig, opts: SolarisRuntimeOptions): Promise<SolarisRuntime> {
  const { logger } = opts;
  const mount = opts.mount ?? '';
  const engineRuntime = opts.engine ?? (await createEngine({ config, logger, redis: opts.redis, migrate: opts.migrate }));
  const { engine, redis } = engineRuntime;
  // Caps, quota requests, role plans and webhooks: created next to the engine, closed before it. Started now:
  // the webhooks' event source must see the first chat's events.
  const extras: SolarisExtras = createExtras(engine, { logger });
  extras.start();
  // Engine events → sockets: through socket.io once attached; until then (or without it) to Redis directly.
  const emitter: RoomEmitter | null = redis ? createRoomEmitter(redis, opts.channelPrefix) : null;
  const feed = createRealtimeFeed({ engine, logger, sink: emitter });
  const upstreamUrl = opts.upstreamUrl ?? config.LITELLM_URL ?? '';
  const proxyOn = Boolean(config.SOLARIS_PROXY_KEY && upstreamUrl);
  if (!proxyOn) logger.warn(`metering proxy disabled: ${config.SOLARIS_PROXY_KEY ? 'LITELLM_URL' : 'SOLARIS_PROXY_KEY'} is not set`);

  let http: SolarisHttp | null = null;
  let loading: Promise<SolarisHttp> | null = null;
  const loadHttp = (): Promise<SolarisHttp> =>
    (loading ??= import('./runtime-http').then((m) => {
      http = m.createSolarisHttp({
        engine, config, redis, logger, extras, feed, authenticator: opts.authenticator, auth: opts.auth,
        upstreamUrl: proxyOn ? upstreamUrl : null, defaultMetrics: mount === '', channelPrefix: opts.channelPrefix, admittedTurn: opts.admittedTurn,
      });
      return http;
    }));
  const loaded = opts.lazy ? null : await loadHttp();
  // Metrics come with the HTTP side; they are served on our own port only (mount ''), which is never lazy.
  const health = createHealthHandlers({ engine, config, redis, metrics: loaded?.metrics, upstreamUrl: opts.upstreamUrl });
  const routes = router(mount, health);

  // socket.io on a host's server: attached when the HTTP side loads (lazy: at the first socket request).
  let host: Server | null = null;
  let realtime: Promise<Realtime> | null = null;
  let realtimeUp = false;
  const attachRealtime = (server: Server): Promise<Realtime> => {
    const up = (h: SolarisHttp) => {
      const r = h.solaris.attach(server);
      realtimeUp = true;
      return r;
    };
    // Loaded already: attached now, before the caller goes on (listen).
    if (!realtime && http) realtime = Promise.resolve(up(http));
    return (realtime ??= loadHttp().then(up));
  };
  const failed = (what: string) => (e: unknown) => logger.error(`Solaris: ${what} failed`, { error: e instanceof Error ? e.message : String(e) });

  const handle = (req: IncomingMessage, res: ServerResponse, next?: () => void): void => {
    const healthRoute = routes.healthRoute(req);
    if (healthRoute) return healthRoute(req, res);
    // Lazy, before socket.io is attached (the REST API may be loaded already): the first polling request of a
    // socket attaches it, then goes to it. Once attached, engine.io's own 'request' listener takes these first.
    if (host && !realtimeUp && isSocketRequest(req.url)) {
      attachRealtime(host).then(
        (r) => r.io.engine.handleRequest(req as never, res as never),
        (e: unknown) => {
          failed('loading socket.io')(e);
          unavailable(res);
        },
      );
      return;
    }
    if (http) return routes.http(http, req, res, next);
    loadHttp().then(
      (h) => routes.http(h, req, res, next),
      (e: unknown) => {
        failed('loading the HTTP side')(e);
        unavailable(res);
      },
    );
  };

  /** Lazy: a websocket that opens without polling first (transports: ['websocket']) attaches socket.io too. */
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (realtimeUp || !isSocketRequest(req.url)) return;
    attachRealtime(host!).then(
      (r) => r.io.engine.handleUpgrade(req as never, socket as never, head),
      (e: unknown) => {
        failed('loading socket.io')(e);
        socket.destroy();
      },
    );
  };

  let server: Server | null = null;
  let stopping: Promise<void> | null = null;
  const rt: SolarisRuntime = {
    config,
    engine,
    http: loadHttp,
    handle,
    server: null,
    url: null,
    attach(target) {
      if (!opts.lazy) {
        void attachRealtime(target);
        return;
      }
      host = target;
      target.on('upgrade', onUpgrade);
    },
    async listen({ port, host: bind, fallback }) {
      await attachRealtime((server = createServer((req, res) => handle(req, res, fallback && (() => fallback(req, res))))));
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, bind, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as AddressInfo;
      rt.server = server;
      rt.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
      logger.info('solaris listening', { url: rt.url, proxy: proxyOn });
      return { server, url: rt.url };
    },
    shutdown() {
      stopping ??= (async () => {
        host?.off('upgrade', onUpgrade);
        // A load still running finishes first: what it opened must be closed too.
        const h = loading ? await loading.catch(() => null) : null;
        const closeSockets = () => (h ? h.solaris.close() : Promise.resolve());
        const drained = server ? drain(server, closeSockets, opts.drainTimeoutMs ?? 10_000, logger) : closeSockets();
        await step(logger, 'closing the server', drained);
        await step(logger, 'draining the metering proxy', h?.proxy?.close());
        feed.close();
        await step(logger, 'closing the events publisher', emitter?.close());
        await step(logger, 'closing webhooks', extras.close());
        if (!opts.engine) await step(logger, 'closing the engine', engineRuntime.close());
      })();
      return stopping;
    },
  };
  return rt;
}

/** One shutdown step: a failure is logged and the next steps still run (the engine must close). */
async function step(logger: Logger, what: string, p: Promise<void> | undefined): Promise<void> {
  try {
    await p;
  } catch (e) {
    logger.warn(`shutdown: ${what} failed`, { error: e instanceof Error ? e.message : String(e) });
  }
}

/** Stop accepting, close socket.io, let requests end (bounded by the drain timeout), then cut what is left. */
async function drain(server: Server, closeSockets: () => Promise<void>, timeoutMs: number, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await closeSockets(); // websockets would keep server.close() waiting forever
  server.closeIdleConnections();
  // A keep-alive connection whose last stream just ended is idle now: close it at once instead of waiting
  // for the client (or keepAliveTimeout) — otherwise exit lags the last answer by seconds.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
  const how = await Promise.race([closed, timeout]);
  clearInterval(sweep);
  if (how === 'timeout') {
    logger.warn('shutdown: closing connections still open after the drain timeout');
    server.closeAllConnections();
  }
}
