import type { Redis } from 'ioredis';
import { encode } from 'notepack.io';
import { duplicateRedis, isCluster } from '../core/redis-client';
import type { FeedEvent, RoomSink } from './realtime-feed';

/** Pub/sub channel prefix of the socket.io Redis adapter (realtime.ts) and of this emitter. */
export const CHANNEL_PREFIX = 'solaris-socket.io';

export interface RoomEmitter extends RoomSink {
  close(): Promise<void>;
}

/** socket.io's packet type of an event (socket.io-parser PacketType.EVENT); 3 = the cluster adapter's BROADCAST message. */
const EVENT = 2;
const BROADCAST = 3;

/**
 * Sends an event to a room's sockets on every replica without socket.io in this process: the message the socket.io
 * Redis adapter itself publishes for `io.to(room).emit(event, payload)` (@socket.io/redis-adapter 8: dist/index.js
 * `broadcast` for one node, dist/sharded-adapter.js `doPublish` + socket.io-adapter's cluster-adapter.js `broadcast`
 * for a cluster, dynamic subscription mode). A LibreChat process loads socket.io when its first widget connects; until
 * then its chats' events still reach the widgets connected to the other replicas. The connection opens at the first
 * event, with the adapter's options: events wait for a reconnect rather than fail, and no key prefix.
 */
export function createRoomEmitter(redis: Redis, channelPrefix = CHANNEL_PREFIX): RoomEmitter {
  const sharded = isCluster(redis);
  const uid = `emitter-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let pub: Redis | null = null;
  const client = () => {
    if (!pub) {
      pub = duplicateRedis(redis, { maxRetriesPerRequest: null, commandTimeout: undefined, enableOfflineQueue: true, keyPrefix: undefined });
      pub.on('error', () => undefined); // ioredis reconnects by itself; a lost event is only a UI lag
    }
    return pub;
  };
  return {
    emit(room: string, event: FeedEvent, payload: unknown) {
      const channel = `${channelPrefix}#/#${room}#`;
      const packet = { type: EVENT, data: [event, payload], nsp: '/' };
      const opts = { rooms: [room], except: [], flags: {} };
      const sent = sharded
        ? client().spublish(channel, JSON.stringify({ uid, nsp: '/', type: BROADCAST, data: { packet, opts } }))
        : client().publish(channel, encode([uid, packet, opts]));
      sent.catch(() => undefined);
    },
    async close() {
      const c = pub;
      pub = null;
      if (!c) return;
      await Promise.race([c.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
      c.disconnect();
    },
  };
}
