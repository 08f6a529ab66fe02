/**
 * Solaris Token Control inside an unmodified LibreChat: loaded by `register.cjs` through
 * `NODE_OPTIONS=--require /solaris/librechat-plugin/register.cjs`, before any LibreChat code runs.
 *
 * At load time only synchronous, side-effect-free hooks are installed (mongoose plugin, fs.readFileSync and
 * http.createServer wrappers); configuration, secrets and connections are read when LibreChat creates its
 * server, i.e. after LibreChat's own dotenv call. Nothing here may throw into LibreChat: LibreChat exits on
 * any uncaught exception it does not recognise (api/server/index.js `process.on('uncaughtException')`).
 */
import fs from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Mongoose } from 'mongoose';
import { sendJson } from '@solaris/server-extension';
import { createGate } from './lib/gate';
import { mongoAgentKeyUser } from './lib/mongo-directory';
import { hookHttpCreateServer } from './lib/http-hook';
import { injectWidget, isLibreChatIndexHtml } from './lib/html';
import { InflightRegistry } from './lib/inflight';
import { libreChatApiDir, loadHostMongoose } from './lib/host';
import { createGateMatcher } from './lib/paths';
import type { PluginRuntime } from './lib/runtime';
import { registerTransactionHook, TransactionMeter } from './lib/transaction-meter';
import { errorMessage, log } from './lib/log';

export interface InstallOptions {
  env?: NodeJS.ProcessEnv;
}

export interface Installed {
  runtime(): Promise<PluginRuntime>;
  meter: TransactionMeter;
  registry: InflightRegistry;
}

let installed: Installed | null = null;

const failMode = (env: NodeJS.ProcessEnv): 'open' | 'closed' => (String(env.SOLARIS_FAIL_MODE ?? '').trim().toLowerCase() === 'open' ? 'open' : 'closed');

function hookIndexHtml(): void {
  const original = fs.readFileSync;
  const wrapped = function readFileSync(this: unknown, ...args: unknown[]): unknown {
    const out = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (!isLibreChatIndexHtml(args[0])) return out;
    try {
      if (typeof out === 'string') return injectWidget(out);
      if (Buffer.isBuffer(out)) return Buffer.from(injectWidget(out.toString('utf8')), 'utf8');
    } catch (e) {
      log.error('Solaris: could not add the widget to index.html', { error: errorMessage(e) });
    }
    return out;
  } as typeof fs.readFileSync;
  fs.readFileSync = wrapped;
}

function sendUnavailable(res: ServerResponse, message: string): void {
  if (!res.headersSent) sendJson(res, 503, { error: { code: 'store_unavailable', message } }, { 'cache-control': 'no-store' });
}

/** Longest LibreChat's `listen()` waits for our runtime (a database that does not answer must not hold it longer). */
const LISTEN_WAIT_MS = 2_000;

/**
 * LibreChat's server starts listening once our runtime is loaded and its connections are open (at most `maxMs`
 * later): its first chat then finds the gate ready instead of waiting for the runtime's code to compile. Most of
 * that code was compiled already during LibreChat's own start-up (loadRuntimeCode below); what is left is paid
 * here, once, as it was when the runtime was required synchronously at this point. `server.listen` returns the
 * server at once, as before; a listen error is still emitted on it.
 */
function listenWhenReady(server: Server, ready: Promise<unknown>, maxMs: number): void {
  const listen = server.listen;
  server.listen = function listenAfterSolaris(this: Server, ...args: unknown[]) {
    server.listen = listen;
    let done = false;
    const go = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        (listen as (...a: unknown[]) => Server).apply(server, args);
      } catch (e) {
        server.emit('error', e);
      }
    };
    const timer = setTimeout(go, maxMs);
    void ready.then(go);
    return server;
  } as typeof server.listen;
}

/** Closes socket.io on SIGTERM/SIGINT so LibreChat's `server.close()` is not held open by our sockets. */
function closeOnSignals(close: () => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = () => {
      close().catch(() => undefined);
      // We were the only listener: keep Node's default (exit on the signal) instead of swallowing it.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/**
 * Safety net: a Redis outage can surface as an un-awaited ioredis command rejecting inside a library we use
 * (MaxRetriesPerRequestError). Node would raise it as an uncaught exception and LibreChat's handler would exit.
 * We swallow (and log once a minute) only that error; anything else is re-thrown exactly as Node's default
 * `--unhandled-rejections=throw` would do, unless another listener (LibreChat's or a library's) handles it.
 */
function guardRedisRejections(): void {
  const onRejection = (reason: unknown) => {
    if (reason instanceof Error && reason.name === 'MaxRetriesPerRequestError') {
      log.errorOnce('redis-rejection', 'Solaris: Redis unavailable (a command gave up)', { error: reason.message });
      return;
    }
    if (process.listenerCount('unhandledRejection') > 1) return;
    throw reason;
  };
  process.on('unhandledRejection', onRejection);
}

export function install(opts: InstallOptions = {}): Installed {
  if (installed) return installed;
  const env = opts.env ?? process.env;
  guardRedisRejections();

  let mongoose: Mongoose | null = null;
  try {
    mongoose = loadHostMongoose(libreChatApiDir(env));
  } catch (e) {
    log.error("Solaris: LibreChat's mongoose not found; usage metering and user lookups are off", { error: errorMessage(e) });
  }

  // The server side (engine, webhooks, live events; its HTTP side in chunks of its own) is a separate build in the
  // operators' folder (scripts/build-plugin.mjs), not in this preload. Its code is imported as soon as LibreChat's
  // own start-up waits for something (the first turn of the event loop: LibreChat's entry has run its dotenv by
  // then), so it is compiled before LibreChat creates its server; configuration is still read, and connections
  // opened, only then (startRuntime).
  let runtimeCode: Promise<typeof import('./lib/runtime')> | null = null;
  const loadRuntimeCode = () => (runtimeCode ??= import('./lib/runtime'));
  setImmediate(() => void loadRuntimeCode().catch(() => undefined)); // a failure is logged by runtime() below
  let runtimePromise: Promise<PluginRuntime> | null = null;
  const runtime = (): Promise<PluginRuntime> => {
    if (!runtimePromise) {
      // LibreChat calls our metering proxy for turns the gate admitted: their hold is the gate's (one per turn).
      runtimePromise = loadRuntimeCode().then((m) => m.startRuntime(mongoose, env, (userId, conversationId) => registry.peek(userId, conversationId) ?? null));
      runtimePromise.then(
        (rt) => log.info('Solaris token control active', { meteringSource: rt.config.SOLARIS_METERING_SOURCE, failMode: rt.config.SOLARIS_FAIL_MODE }),
        (e: unknown) =>
          log.error(`Solaris token control is OFF: ${errorMessage(e)}. LibreChat keeps running; gated chats are ${failMode(env) === 'open' ? 'allowed (SOLARIS_FAIL_MODE=open)' : 'refused with 503 (SOLARIS_FAIL_MODE=closed)'}.`),
      );
    }
    return runtimePromise;
  };

  const registry = new InflightRegistry();
  const meter = new TransactionMeter({
    settler: async () => {
      const rt = await runtime().catch(() => null);
      if (!rt || rt.config.SOLARIS_METERING_SOURCE !== 'librechat') return null;
      return (req) => rt.engine.settleQueued(req);
    },
    coalesceMs: Number(env.SOLARIS_LIBRECHAT_COALESCE_MS ?? 250) || 250,
    // The turn's gate hold is freed by the settle step itself (one script per turn, not settle + release + state).
    holdOf: (spend) => {
      if (spend.context === 'title') return null; // a title is not the generation the gate reserved for
      return registry.takeForSpend(spend.userId, spend.conversationId, spend.messageId)?.requestId ?? null;
    },
    releaseHold: (userId, holdId) => {
      runtime()
        .then((rt) => rt.engine.release(holdId, userId))
        .catch((e: unknown) => log.errorOnce('release', 'Solaris: releasing a reservation failed', { error: errorMessage(e) }));
    },
  });
  if (mongoose) registerTransactionHook(mongoose, meter);

  hookIndexHtml();

  const isGated = createGateMatcher(env);
  const gate = createGate({ runtime, registry, failMode: () => failMode(env), agentKeyUser: mongoose ? mongoAgentKeyUser(mongoose) : undefined });
  hookHttpCreateServer({
    isGated: (req) => isGated(req.method, req.url ?? '/'),
    gate,
    solaris(req: IncomingMessage, res: ServerResponse) {
      runtime().then(
        (rt) => rt.handle(req, res),
        () => sendUnavailable(res, 'Solaris token control is not running (see the LibreChat log).'),
      );
    },
    onServer(server: Server) {
      const started = runtime();
      started.then(
        (rt) => rt.attach(server),
        () => undefined, // already logged
      );
      listenWhenReady(server, started.then((rt) => rt.ready).catch(() => undefined), LISTEN_WAIT_MS);
      closeOnSignals(async () => {
        await meter.close().catch(() => undefined);
        const rt = await started.catch(() => null);
        await rt?.close();
      });
    },
  });

  installed = { runtime, meter, registry };
  // Lets tests (and operators debugging NODE_OPTIONS) see whether this process took the preload.
  (globalThis as Record<symbol, unknown>)[Symbol.for('solaris.librechat.installed')] = true;
  return installed;
}
