/**
 * A real QuotaEngine for tests: real Postgres (own migrated schema) and, for the Redis store, real Redis
 * (own key prefix). `clock` is a settable fake clock so periods and TTLs can be tested.
 */
import type { Redis } from 'ioredis';
import { loadConfig, type SolarisConfig } from '../../src/core/config';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { createTestDb, createTestRedis, flushPrefix, uniqueName, type TestDb } from './infra';
import type { RedisClusterServer } from '../../src/dev/redis-cluster';

export interface TestClock {
  (): number;
  set(ms: number | string): void;
  advance(ms: number): void;
}

export function testClock(start: number | string = '2026-11-15T12:00:00-03:00'): TestClock {
  let now = typeof start === 'string' ? Date.parse(start) : start;
  const clock = (() => now) as TestClock;
  clock.set = (ms) => {
    now = typeof ms === 'string' ? Date.parse(ms) : ms;
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

export interface TestEngine extends EngineRuntime {
  testDb: TestDb;
  testRedis: (Redis & { testPrefix: string }) | null;
  config: SolarisConfig;
  clock: TestClock;
  cleanup(): Promise<void>;
}

export async function createTestEngine(
  opts: {
    store?: 'redis' | 'postgres';
    env?: Record<string, string>;
    clock?: TestClock;
    realClock?: boolean;
    redisUrl?: string;
    /** The Redis store on this Redis Cluster (an ioredis `Cluster` with a key prefix) instead of REDIS_URL. */
    cluster?: RedisClusterServer;
  } = {},
): Promise<TestEngine> {
  const testDb = await createTestDb();
  const testRedis = opts.store === 'redis' ? (opts.cluster ? clusterTestRedis(opts.cluster) : createTestRedis(undefined, opts.redisUrl)) : null;
  const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', ...opts.env });
  const clock = opts.clock ?? testClock();
  const runtime = await createEngine({
    config,
    db: testDb,
    redis: testRedis,
    clock: opts.realClock ? undefined : clock,
    migrate: false,
  });
  return {
    ...runtime,
    testDb,
    testRedis,
    config,
    clock,
    async cleanup() {
      await runtime.engine.close();
      if (testRedis) {
        if (opts.cluster) await opts.cluster.deletePrefix(testRedis.testPrefix);
        else await flushPrefix(testRedis);
        testRedis.disconnect();
      }
      await testDb.drop();
    },
  };
}

/**
 * A Cluster client typed as the Redis the engine takes: ioredis `Cluster` answers the same commands
 * (defineCommand scripts included) and routes each by its first key's slot.
 */
function clusterTestRedis(cluster: RedisClusterServer): Redis & { testPrefix: string } {
  const testPrefix = uniqueName('t') + ':';
  const c = cluster.client({ keyPrefix: testPrefix, redisOptions: { maxRetriesPerRequest: 2 } });
  return Object.assign(c as unknown as Redis, { testPrefix });
}
