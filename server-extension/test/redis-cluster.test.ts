/**
 * What runs on a real 3-master Redis Cluster besides the store contract (quota-store.redis-cluster.test.ts):
 * two replicas' socket.io rooms (sharded pub/sub), the shared API rate limit, EVALSHA routed to every master,
 * and the configurations a cluster cannot serve refused at start-up.
 */
import { io as connect, type Socket } from 'socket.io-client';
import type { Redis } from 'ioredis';
import { SOCKET_PATH, type BalanceDTO } from '@solaris/wire';
import { createEngine, type EngineRuntime } from '../src/core/create-engine';
import { ConfigError, loadConfig } from '../src/core/config';
import { createRedis, masterNodes } from '../src/core/redis-client';
import { userKeys } from '../src/core/redis-keys';
import { WAKE_LIST, type SettleOutbox } from '../src/core/settle-outbox';
import { startRedisCluster, type RedisClusterServer } from '../src/dev/redis-cluster';
import { createTestEngine, type TestEngine } from './helpers/engine';
import { ALICE, cookie, settle, startServer, type RunningServer } from './api/helpers';
import { createRoomEmitter } from '../src/adapters/realtime-emitter';
import { createRealtimeFeed } from '../src/adapters/realtime-feed';

let cluster: RedisClusterServer;
let te: TestEngine;
let replica: EngineRuntime;
let a: RunningServer;
let b: RunningServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  te = await createTestEngine({ store: 'redis', cluster });
  replica = await createEngine({ config: te.config, db: te.testDb, redis: te.testRedis, clock: te.clock, migrate: false });
  const server = { realtime: { channelPrefix: `${te.testRedis!.testPrefix}io` }, rateLimits: { api: { points: 5, duration: 60 } } };
  a = await startServer(te, { realtime: true, server });
  b = await startServer({ ...te, engine: replica.engine }, { realtime: true, server });
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await a?.close();
  await b?.close();
  await replica?.engine.close();
  await te?.cleanup();
  await cluster?.stop();
});

function open(url: string, headers: Record<string, string>): Promise<Socket & { got: BalanceDTO[] }> {
  const s = connect(url, { path: SOCKET_PATH, extraHeaders: headers, transports: ['websocket'], reconnection: false, forceNew: true }) as Socket & { got: BalanceDTO[] };
  s.got = [];
  s.on('balance', (b: BalanceDTO) => s.got.push(b));
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.on('connect', () => resolve(s));
    s.on('connect_error', reject);
  });
}

describe('on a 3-master Redis Cluster', () => {
  it('an event of replica A reaches the user’s socket on replica B (socket.io sharded adapter)', async () => {
    const onB = await open(b.url, cookie(ALICE));
    await vi.waitFor(() => expect(onB.got).toHaveLength(1)); // the balance on connect
    await settle(te, ALICE, { requestId: 'cluster-rt-1', promptTokens: 30, completionTokens: 12 }); // on A's engine
    await vi.waitFor(() => expect(onB.got.at(-1)).toMatchObject({ userId: ALICE, used: 42 }), { timeout: 5_000 });
  });

  it('an event of a process without socket.io (the room emitter: SPUBLISH) reaches the socket on replica B', async () => {
    const onB = await open(b.url, cookie(ALICE));
    await vi.waitFor(() => expect(onB.got).toHaveLength(1));
    const third = await createEngine({ config: te.config, db: te.testDb, redis: te.testRedis, clock: te.clock, migrate: false });
    const emitter = createRoomEmitter(te.testRedis!, `${te.testRedis!.testPrefix}io`);
    const feed = createRealtimeFeed({ engine: third.engine, sink: emitter });
    try {
      const before = onB.got.at(-1)!.used;
      await settle({ ...te, engine: third.engine }, ALICE, { requestId: 'cluster-rt-emitter', promptTokens: 5, completionTokens: 5 });
      await vi.waitFor(() => expect(onB.got.at(-1)).toMatchObject({ userId: ALICE, used: before + 10 }), { timeout: 5_000 });
    } finally {
      feed.close();
      await emitter.close();
      await third.engine.close();
    }
  });

  it('the API rate limit is shared by both replicas (one counter in the cluster)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${i % 2 ? b.url : a.url}/solaris/api/me`, { headers: cookie(ALICE) })).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[5]).toBe(429);
  });

  it('users spread over the masters: each master ran the quota scripts (EVALSHA routed by the {user} tag)', async () => {
    const nodes = masterNodes(te.testRedis as Redis);
    expect(nodes).toHaveLength(3);
    const before = await Promise.all(nodes.map(evalCalls));
    await Promise.all(Array.from({ length: 30 }, (_, i) => te.engine.reserve({ userId: `spread-${i}`, requestId: `r-${i}`, estimate: 10 })));
    const after = await Promise.all(nodes.map(evalCalls));
    for (let i = 0; i < nodes.length; i++) expect(after[i]! - before[i]!).toBeGreaterThan(0);
  });

  it('the outbox sweep finds the streams on every master (a lost announce is found wherever the user lives)', async () => {
    const outboxOf = (e: EngineRuntime['engine']) => (e.store as unknown as { opts: { settleOutbox: SettleOutbox } }).opts.settleOutbox;
    // Drainers stopped: only the sweep may find these rows (and nobody pops the wake list under us).
    await outboxOf(te.engine).stop();
    await outboxOf(replica.engine).stop();
    const r = te.testRedis as Redis;
    const users = Array.from({ length: 30 }, (_, i) => `swept-${i}`);
    await r.del(WAKE_LIST);
    for (const u of users) await r.xadd(userKeys(u).outbox, '*', 'j', '{}');
    const holding = await Promise.all(masterNodes(r).map(async (n) => (await n.keys(`${r.options.keyPrefix ?? ''}sq:{swept-*}:o`)).length));
    expect(holding.filter((k) => k > 0)).toHaveLength(3); // the streams really are spread over the 3 masters
    try {
      expect(await outboxOf(te.engine).sweep()).toBe(30);
      expect((await r.lrange(WAKE_LIST, 0, -1)).sort()).toEqual([...users].sort());
    } finally {
      await r.del(WAKE_LIST);
      for (const u of users) await r.del(userKeys(u).outbox);
    }
  });

  it('refuses SOLARIS_SETTLE_ACK=outbox on a cluster (its appendonly check reads one node) with a clear message', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:7000', SOLARIS_REDIS_MODE: 'cluster', SOLARIS_SETTLE_ACK: 'outbox' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:7000', SOLARIS_REDIS_MODE: 'cluster' })).not.toThrow();
  });

  it('createRedis: a Cluster client from one seed URL finds every master', async () => {
    const r = createRedis({ REDIS_URL: `redis://127.0.0.1:${cluster.ports[1]}`, SOLARIS_REDIS_MODE: 'cluster' }, { maxRetriesPerRequest: 2 });
    try {
      await r.set('{seed}:probe', '1');
      expect(await r.get('{seed}:probe')).toBe('1');
      await r.del('{seed}:probe');
      expect(masterNodes(r)).toHaveLength(3);
    } finally {
      r.disconnect();
    }
  });
});

async function evalCalls(node: Redis): Promise<number> {
  const info = await node.info('commandstats');
  return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}
