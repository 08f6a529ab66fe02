import http, { type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { sendJson } from '@solaris/server-extension';
import { isSolarisPath } from './paths';
import { errorMessage, log } from './log';

/** Express apps are functions with `use`, `handle` and `set` (Express 5 lib/application.js). */
function isExpressApp(fn: unknown): fn is RequestListener {
  const f = fn as { use?: unknown; handle?: unknown; set?: unknown };
  return typeof fn === 'function' && typeof f.use === 'function' && typeof f.handle === 'function' && typeof f.set === 'function';
}

export interface HostServerHooks {
  /** Our handler for everything under /solaris (any casing). */
  solaris(req: IncomingMessage, res: ServerResponse): void;
  /** true when the request must pass the quota gate first. */
  isGated(req: IncomingMessage): boolean;
  gate(req: IncomingMessage, res: ServerResponse, pass: () => void): Promise<void>;
  /** Called once with LibreChat's server, right after it is created. */
  onServer(server: Server): void;
}

/**
 * Routing first. LibreChat mounts everything inside `startServer()` and ends with `app.use('/api', apiNotFound)`
 * plus an SPA fallback that answers every other path (LibreChat api/server/index.js), so routes added to its app
 * later are shadowed. Express 5's `app.listen` calls `http.createServer(app)` (express lib/application.js), so we
 * wrap `http.createServer` and, for the first server whose listener is an Express app, dispatch `/solaris/*` to
 * us and everything else to `app(req, res)` unchanged.
 */
export function hookHttpCreateServer(hooks: HostServerHooks): () => void {
  const original = http.createServer;
  let taken = false;

  function dispatch(app: RequestListener) {
    return function solarisDispatch(this: Server, req: IncomingMessage, res: ServerResponse) {
      const url = req.url ?? '/';
      try {
        if (isSolarisPath(url)) return hooks.solaris(req, res);
        if (hooks.isGated(req)) {
          hooks.gate(req, res, () => app.call(this, req, res)).catch((e: unknown) => {
            log.error('Solaris: gate error', { error: errorMessage(e) });
            if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal_error', message: 'Erro interno no controle de cota.' } });
          });
          return;
        }
      } catch (e) {
        log.error('Solaris: dispatch error, passing the request to LibreChat', { error: errorMessage(e) });
      }
      return app.call(this, req, res);
    };
  }

  const wrapped = function createServer(this: unknown, ...args: unknown[]): Server {
    const i = args.findIndex((a) => typeof a === 'function');
    if (!taken && i >= 0 && isExpressApp(args[i])) {
      taken = true;
      args[i] = dispatch(args[i] as RequestListener);
      const server = (original as (...a: unknown[]) => Server).apply(this, args);
      try {
        hooks.onServer(server);
      } catch (e) {
        log.error('Solaris: could not attach to LibreChat server', { error: errorMessage(e) });
      }
      return server;
    }
    return (original as (...a: unknown[]) => Server).apply(this, args);
  } as typeof http.createServer;
  http.createServer = wrapped;
  return () => {
    if (http.createServer === wrapped) http.createServer = original;
  };
}
