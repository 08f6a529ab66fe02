import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger';
import type { Metrics } from '../metrics';
import type { RouteKind } from './context';
import type { MeteredHandler } from './forward';
import { sendError } from './http-errors';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

export interface Route {
  kind: RouteKind;
  method: 'GET' | 'POST';
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

/** The route table: every path the proxy answers under /v1, its method and its handler. */
export function routeTable(h: { metered: MeteredHandler; models: (res: ServerResponse) => Promise<void> }): Record<string, Route> {
  return {
    '/v1/chat/completions': { kind: 'chat', method: 'POST', handle: (req, res, path) => h.metered(req, res, 'chat', path) },
    '/v1/completions': { kind: 'completions', method: 'POST', handle: (req, res, path) => h.metered(req, res, 'completions', path) },
    '/v1/embeddings': { kind: 'embeddings', method: 'POST', handle: (req, res, path) => h.metered(req, res, 'embeddings', path) },
    '/v1/models': { kind: 'models', method: 'GET', handle: (_req, res) => h.models(res) },
  };
}

export interface RouterDeps {
  routes: Record<string, Route>;
  /** Runs before any handler; false when it answered (401). */
  authorize(req: IncomingMessage, res: ServerResponse): boolean;
  trackActive(p: Promise<void>): void;
  logger?: Logger;
  metrics?: Metrics;
}

/** The path without the query string or a trailing slash (Express mounts pass `originalUrl`). */
function pathOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * The entry: anything outside /v1 goes to `next` (mounted) or 404; unknown path 404, wrong method 405, then
 * the service key, then the route's handler (a throw answers 500).
 */
export function createRouter(d: RouterDeps): NodeHandler {
  const { routes, logger, metrics } = d;
  return (req, res, next) => {
    const path = pathOf(req);
    if (!path.startsWith('/v1/')) {
      if (next) next();
      else sendError(res, 404, 'not_found', 'Rota não encontrada.');
      return;
    }
    const route = routes[path] as Route | undefined;
    const kind = route?.kind ?? 'unknown';
    if (metrics) res.once('close', () => metrics.requests.inc({ route: kind, status: String(res.statusCode) }));
    if (!route) {
      req.resume();
      sendError(res, 404, 'not_found', `Rota ${path} não existe neste proxy.`);
      return;
    }
    if (req.method !== route.method) {
      req.resume();
      sendError(res, 405, 'invalid_input', `Use ${route.method} em ${path}.`, { allow: route.method });
      return;
    }
    if (!d.authorize(req, res)) return;
    const work = route.handle(req, res, path);
    d.trackActive(work.then(() => undefined, () => undefined));
    work.catch((e: unknown) => {
      logger?.error('proxy request failed', { path, err: e });
      sendError(res, 500, 'internal_error', 'Erro interno do proxy.');
    });
  };
}
