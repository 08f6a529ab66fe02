import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * One place that opens Redis connections, for a single node or a Redis Cluster (SOLARIS_REDIS_MODE).
 *
 * A Cluster is handed around typed as `Redis`: ioredis `Cluster` answers the same commands (scripts defined
 * with defineCommand included) and routes each by the slot of its first key. That is enough for every
 * command we send because all keys one command or script touches share the user's hash tag `{user}`
 * (core/redis-keys.ts); what a cluster does differently (SCAN sees one node, duplicate() takes other
 * arguments, pub/sub) goes through the helpers below.
 */
export interface RedisTarget {
  REDIS_URL?: string;
  SOLARIS_REDIS_MODE?: 'single' | 'cluster';
}

export function createRedis(target: RedisTarget & { REDIS_URL: string }, options: RedisOptions = {}): Redis {
  if (target.SOLARIS_REDIS_MODE !== 'cluster') return new Redis(target.REDIS_URL, options);
  const url = new URL(target.REDIS_URL);
  const tls = url.protocol === 'rediss:' ? {} : undefined;
  const redisOptions: RedisOptions = {
    ...options,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(tls ? { tls } : {}),
  };
  const { maxRetriesPerRequest, enableAutoPipelining, keyPrefix, enableOfflineQueue } = options;
  const cluster = new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    redisOptions,
    // Options ioredis reads from the Cluster, not from redisOptions.
    ...(maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest } : {}),
    ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
    ...(keyPrefix !== undefined ? { keyPrefix } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
  });
  return cluster as unknown as Redis;
}

export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/**
 * A new connection like `redis` with `options` on top (Cluster.duplicate takes seed nodes first).
 * `shardedPubSub`: a cluster connection for SSUBSCRIBE (one subscriber per master: a channel lives on the
 * master of its slot; a single subscriber connection gets MOVED forever, and ioredis throws it uncaught).
 */
export function duplicateRedis(redis: Redis, options: RedisOptions = {}, shardedPubSub = false): Redis {
  if (!isCluster(redis)) return redis.duplicate(options);
  const { maxRetriesPerRequest, keyPrefix, ...rest } = options;
  const c = redis as unknown as Cluster;
  return c.duplicate([], {
    ...(maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest } : {}),
    ...('keyPrefix' in options ? { keyPrefix } : {}),
    ...(shardedPubSub ? { shardedSubscribers: true } : {}),
    redisOptions: { ...c.options.redisOptions, ...rest },
  }) as unknown as Redis;
}

/** The master nodes to run a node-local command on (SCAN, INFO): every master of a cluster, else `redis` itself. */
export function masterNodes(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
}
