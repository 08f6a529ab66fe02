import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Redis } from 'ioredis';
import { API_PREFIX, SOLARIS_PREFIX, WIDGET_PATH } from '@solaris/wire';
import type { QuotaEngine } from './core/engine';
import type { SolarisConfig } from './core/config';
import type { Logger } from './core/logger';
import type { SolarisExtras } from './core/feature-services';
import { SolarisError } from './core/errors';
import type { Authenticator } from './adapters/auth/types';
import { createApiRouter } from './adapters/http/router';
import { errorHandler, sendError } from './adapters/http/errors';
import type { RateLimitOptions } from './adapters/http/rate-limit';
import { attachRealtime, type Realtime, type RealtimeOptions } from './adapters/realtime';

export interface SolarisServerOptions {
  engine: QuotaEngine;
  config: SolarisConfig;
  authenticator: Authenticator;
  /** Shared rate limits and socket.io rooms across replicas. */
  redis?: Redis | null;
  logger?: Logger;
  /** More routers under /solaris (full paths, e.g. the LiteLLM webhook), tried before our 404. */
  extraRoutes?: Array<RequestHandler | Router>;
  rateLimits?: RateLimitOptions;
  /** Personal caps, quota requests, role plans, webhooks (core/extras.ts): their API routes are mounted when set. */
  extras?: SolarisExtras;
  /** Path of widget.js; default: env SOLARIS_WIDGET_FILE, else the nearest `dist/widget/widget.js` or `widget/widget.js` upward. */
  widgetFile?: string;
  realtime?: Pick<RealtimeOptions, 'channelPrefix' | 'lookupEmail' | 'recheckMs' | 'feed'>;
}

export interface SolarisServer {
  /** The express app behind `handle` (tests, or hosts that prefer `app.use`). */
  app: Express;
  /**
   * Request handler for everything under /solaris. A request outside /solaris goes to `next` when given
   * (so a host can chain), otherwise gets our JSON 404.
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  /** socket.io on the host's server at SOCKET_PATH. Call once per HTTP server. */
  attach(httpServer: HttpServer): Realtime;
  /** Closes socket.io (the host closes its own HTTP server). */
  close(): Promise<void>;
}

const WIDGET_ASSET = /^widget[A-Za-z0-9_.-]*\.(js|css|map)$/;

function here(): string {
  try {
    return dirname(fileURLToPath(import.meta.url));
  } catch {
    return typeof __dirname === 'string' ? __dirname : process.cwd();
  }
}

/**
 * Finds widget.js: SOLARIS_WIDGET_FILE, else upward from this module and from the cwd, in each folder
 * `dist/widget/widget.js` (a checkout after `npm run build`) or `widget/widget.js` (the plugin folder operators
 * copy, dist/solaris: its bundles sit in dist/plugin/ and server/, the widget in widget/).
 */
export function resolveWidgetFile(explicit?: string): string | null {
  const fromEnv = explicit ?? process.env.SOLARIS_WIDGET_FILE;
  if (fromEnv) return existsSync(fromEnv) ? resolve(fromEnv) : null;
  for (const start of [here(), process.cwd()]) {
    let dir = resolve(start);
    for (let i = 0; i < 8; i++) {
      for (const candidate of [join(dir, 'dist', 'widget', 'widget.js'), join(dir, 'widget', 'widget.js')]) {
        if (existsSync(candidate)) return candidate;
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return null;
}

/** Serves widget.js (and widget.css / source maps next to it) with revalidation: the URL carries no version. */
function widgetRoutes(explicit?: string): Router {
  const router = express.Router({ caseSensitive: true });
  let cached: { file: string; at: number } | null = null;
  const widgetFile = () => {
    // Re-resolve every 5 s while missing (the bundle may be built after we started).
    if (!cached || (!cached.file && Date.now() - cached.at > 5_000) || (cached.file && !existsSync(cached.file))) {
      cached = { file: resolveWidgetFile(explicit) ?? '', at: Date.now() };
    }
    return cached.file || null;
  };
  const assetName = WIDGET_PATH.slice(SOLARIS_PREFIX.length + 1); // 'widget.js'
  router.get(`${SOLARIS_PREFIX}/:asset`, (req, res, next) => {
    const asset = req.params.asset as string;
    if (!WIDGET_ASSET.test(asset)) return next();
    const main = widgetFile();
    const file = main && (asset === assetName ? main : join(dirname(main), asset));
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      return sendError(
        res,
        new SolarisError('not_found', asset === assetName ? 'Widget bundle not built: run `npm run build` or set SOLARIS_WIDGET_FILE' : `${asset} not found`),
      );
    }
    res.sendFile(file, {
      cacheControl: false,
      etag: true,
      lastModified: true,
      headers: {
        // Revalidate each time (cheap 304 thanks to the ETag): the script tag URL never changes across upgrades.
        'Cache-Control': 'public, no-cache',
        'X-Content-Type-Options': 'nosniff',
        'Content-Type': asset.endsWith('.css') ? 'text/css; charset=utf-8' : asset.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8',
      },
    });
  });
  return router;
}

const underPrefix = (url: string | undefined) => {
  const path = (url ?? '/').split('?')[0]!;
  return path === SOLARIS_PREFIX || path.startsWith(SOLARIS_PREFIX + '/');
};

/** Everything of ours a host mounts: REST API, widget files, extra routes and socket.io. */
export function createSolarisServer(opts: SolarisServerOptions): SolarisServer {
  const app = express();
  app.disable('x-powered-by');
  // No ETag on API answers: they are `Cache-Control: no-store`, and Express would hash every JSON body (a
  // statement page is ~20 kB) for nothing. The widget files keep theirs: they are served by a sub-app with
  // 'etag' on, because res.sendFile takes its ETag setting from the app that serves it (cheap 304s).
  app.set('etag', false);
  app.set('case sensitive routing', true);

  app.use(
    API_PREFIX,
    createApiRouter({
      engine: opts.engine,
      authenticator: opts.authenticator,
      config: opts.config,
      redis: opts.redis,
      logger: opts.logger,
      rateLimits: opts.rateLimits,
      extras: opts.extras,
    }),
  );
  const widgetApp = express();
  widgetApp.disable('x-powered-by');
  widgetApp.set('etag', true);
  widgetApp.use(widgetRoutes(opts.widgetFile));
  app.use(widgetApp);
  for (const r of opts.extraRoutes ?? []) app.use(r);
  app.use((_req, res) => sendError(res, new SolarisError('not_found', 'Route not found')));
  app.use(errorHandler(opts.logger));

  const realtimes: Realtime[] = [];
  return {
    app,
    handle(req, res, next) {
      if (!underPrefix(req.url)) {
        if (next) return next();
        res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ error: { code: 'not_found', message: 'Route not found' } }));
        return;
      }
      app(req, res);
    },
    attach(httpServer) {
      const rt = attachRealtime({
        httpServer,
        engine: opts.engine,
        authenticator: opts.authenticator,
        redis: opts.redis,
        config: opts.config,
        logger: opts.logger,
        ...opts.realtime,
      });
      realtimes.push(rt);
      return rt;
    },
    async close() {
      await Promise.all(realtimes.splice(0).map((r) => r.close()));
    },
  };
}
