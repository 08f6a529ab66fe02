import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server as IoServer, type Socket } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { duplicateRedis, isCluster } from '../core/redis-client';
import type { Redis } from 'ioredis';
import { SOCKET_PATH, type ServerToClientEvents } from '@solaris/wire';
import type { QuotaEngine } from '../core/engine';
import type { SolarisConfig } from '../core/config';
import type { Logger } from '../core/logger';
import type { Authenticator, Principal } from './auth/types';
import { CHANNEL_PREFIX } from './realtime-emitter';
import { ADMINS_ROOM, createRealtimeFeed, userRoom, type RealtimeFeed, type RoomSink } from './realtime-feed';

export { ADMINS_ROOM, USAGE_WINDOW_MS, userRoom } from './realtime-feed';

export interface RealtimeOptions {
  httpServer: HttpServer;
  engine: QuotaEngine;
  authenticator: Authenticator;
  /** When set, rooms are shared by every replica through @socket.io/redis-adapter (duplicated connections). */
  redis?: Redis | null;
  config: SolarisConfig;
  logger?: Logger;
  /** Pub/sub channel prefix of the Redis adapter (default `solaris-socket.io`). */
  channelPrefix?: string;
  /** Email shown in the admin `usage` feed. Default: our users_cache table. */
  lookupEmail?: (userId: string) => Promise<string | null>;
  /**
   * Every connected socket's handshake credentials are checked again this often (ms, default 60 s): a logout,
   * an expired token, a deleted user or a lost admin role ends the live feed then, not at the next reconnect.
   */
  recheckMs?: number;
  /** The admins' usage feed is sent as one `usage_batch` per this many ms (default USAGE_WINDOW_MS). */
  usageWindowMs?: number;
  /**
   * The process's feed of engine events (the runtime's, which may have sent to Redis directly until now): it
   * sends through this socket.io from now on. Without it this attach subscribes a feed of its own.
   */
  feed?: RealtimeFeed;
}

export interface Realtime {
  io: IoServer<Record<string, never>, ServerToClientEvents>;
  /** Checks every local socket's credentials again now; returns how many were disconnected. */
  recheck(): Promise<number>;
  close(): Promise<void>;
}

type SolarisRequest = IncomingMessage & { solarisPrincipal?: Principal };

/**
 * socket.io at SOCKET_PATH on the host's HTTP server. The caller is authenticated at the handshake
 * (`allowRequest`, so a refused client never gets a session), then joins `user:<id>` and, for admins,
 * `admins`. Engine events of this process are emitted once into rooms; the Redis adapter carries them to the
 * sockets held by other replicas.
 */
export function attachRealtime(opts: RealtimeOptions): Realtime {
  const { engine, authenticator, logger } = opts;
  const io = new IoServer<Record<string, never>, ServerToClientEvents>(opts.httpServer, {
    path: SOCKET_PATH,
    // The default destroys every upgrade request that is not ours, which would kill the host's websockets.
    destroyUpgrade: false,
    serveClient: false,
    // Same-origin only: no CORS headers.
    cors: undefined,
    allowRequest: (req, callback) => {
      authenticator.authenticate(req.headers).then(
        (principal) => {
          if (!principal) return callback('unauthorized', false);
          (req as SolarisRequest).solarisPrincipal = principal;
          callback(null, true);
        },
        (e: unknown) => {
          logger?.warn('socket handshake authentication failed', { error: e });
          callback('unauthorized', false);
        },
      );
    },
  });

  const extraClients: Redis[] = [];
  if (opts.redis) {
    // Subscriber connections cannot run other commands: the adapter gets its own pair.
    // maxRetriesPerRequest: null — while Redis is down the adapter's own (un-awaited) psubscribe/publish calls
    // wait for the reconnect instead of rejecting unhandled, which would crash the host process (LibreChat).
    // Events wait for a reconnect rather than fail (no command timeout): a lost balance push is only a UI lag.
    // No key prefix: ioredis prefixes SPUBLISH/SSUBSCRIBE channels (they are keys to a cluster) but reports
    // messages under the prefixed name, which the adapter then does not recognise.
    const eventsOnly = { maxRetriesPerRequest: null, commandTimeout: undefined, enableOfflineQueue: true, keyPrefix: undefined };
    const pub = duplicateRedis(opts.redis, eventsOnly);
    const sub = duplicateRedis(opts.redis, eventsOnly, true);
    pub.on('error', (e) => logger?.warn('socket.io redis publisher error', { error: e }));
    sub.on('error', (e) => logger?.warn('socket.io redis subscriber error', { error: e }));
    extraClients.push(pub, sub);
    // Redis Cluster: sharded pub/sub (Redis 7 SPUBLISH): a room's messages reach only the node owning its
    // channel's slot, where classic PUBLISH is copied to every node of the cluster.
    const channelPrefix = opts.channelPrefix ?? CHANNEL_PREFIX;
    io.adapter(isCluster(opts.redis) ? createShardedAdapter(pub, sub, { channelPrefix, subscriptionMode: 'dynamic' }) : createAdapter(pub, sub, { key: channelPrefix }));
  }

  io.on('connection', (socket: Socket) => {
    const principal = (socket.request as SolarisRequest).solarisPrincipal;
    if (!principal) {
      socket.disconnect(true);
      return;
    }
    void socket.join(userRoom(principal.userId));
    if (principal.isAdmin) void socket.join(ADMINS_ROOM);
    engine.balance(principal.userId).then(
      (b) => socket.emit('balance', b),
      (e: unknown) => logger?.warn('initial balance failed', { userId: principal.userId, error: e }),
    );
  });

  // ---------- credentials checked again while connected ----------
  // A socket lives as long as its connection: without this, a logged-out (or deleted, or demoted) user kept
  // receiving events until the next reconnect. One socket after another, so the check never bursts.
  let rechecking: Promise<number> | null = null;
  const recheck = () =>
    (rechecking ??= (async () => {
      let dropped = 0;
      for (const socket of [...io.of('/').sockets.values()]) {
        const before = (socket.request as SolarisRequest).solarisPrincipal;
        if (!before || socket.disconnected) continue;
        let now: Principal | null;
        try {
          now = await authenticator.authenticate(socket.request.headers);
        } catch {
          continue; // the directory / session store is unreachable: keep the socket, check again next time
        }
        if (!now || now.userId !== before.userId || now.isAdmin !== before.isAdmin) {
          logger?.info('socket credentials no longer valid: disconnected', { userId: before.userId });
          socket.disconnect(true); // the widget reconnects with its current credentials (client/socket.ts)
          dropped++;
        }
      }
      return dropped;
    })().finally(() => {
      rechecking = null;
    }));
  const recheckTimer = setInterval(() => void recheck().catch(() => undefined), opts.recheckMs ?? 60_000);
  recheckTimer.unref();

  // ---------- engine events → rooms: the process's one feed (the runtime's), or one of this attach's own ----------
  const sink: RoomSink = { emit: (room, event, payload) => io.to(room).emit(event, payload as never) };
  const ownFeed = opts.feed ? null : createRealtimeFeed({ engine, sink, logger, lookupEmail: opts.lookupEmail, usageWindowMs: opts.usageWindowMs });
  opts.feed?.use(sink);

  let closing: Promise<void> | null = null;
  return {
    io,
    recheck,
    close() {
      closing ??= (async () => {
        clearInterval(recheckTimer);
        ownFeed?.close();
        opts.feed?.use(null);
        // Not io.close(): it also closes the HTTP server and waits for every keep-alive connection of the host,
        // which is the host's business (LibreChat's graceful shutdown, or our standalone entry).
        io.disconnectSockets(true);
        await Promise.resolve(io.of('/').adapter.close()).catch(() => undefined);
        io.engine.close();
        // QUIT lets the adapter's un-awaited (p)unsubscribe replies arrive first; disconnect() would reject them
        // unhandled. Bounded, in case Redis is unreachable right now.
        await Promise.all(
          extraClients.map((c) =>
            Promise.race([c.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]).finally(() => c.disconnect()),
          ),
        );
      })();
      return closing;
    },
  };
}
