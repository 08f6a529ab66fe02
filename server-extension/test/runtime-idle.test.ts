/**
 * Idle inside LibreChat: prom-client's default metrics include an event-loop-lag monitor that wakes the process
 * every 10 ms (perf_hooks.monitorEventLoopDelay), ~3 ms of CPU per idle second in bench:gate. Inside LibreChat
 * /solaris/metrics is not served (librechat-host.test.ts), so nothing may collect them there; our own port keeps them.
 */
import { PassThrough } from 'node:stream';
import { createLogger } from '../src/core/logger';
import { createSolarisRuntime, type SolarisRuntime } from '../src/runtime';
import { createTestEngine, type TestEngine } from './helpers/engine';

let te: TestEngine;
beforeAll(async () => {
  te = await createTestEngine({ store: 'redis' });
});
afterAll(async () => {
  await te?.cleanup();
});

const names = async (rt: SolarisRuntime) => (await (await rt.http()).metrics.registry.getMetricsAsJSON()).map((m) => m.name);

describe('process metrics', () => {
  it('are collected on our own port only, not inside LibreChat (mount /solaris)', async () => {
    const logger = createLogger({ level: 'error', service: 'runtime-idle-test', stream: new PassThrough().resume() });
    const inLibreChat = await createSolarisRuntime(te.config, { logger, engine: te, mount: '/solaris' });
    const standalone = await createSolarisRuntime(te.config, { logger, engine: te });
    try {
      expect(await names(standalone)).toEqual(expect.arrayContaining(['solaris_nodejs_eventloop_lag_seconds', 'solaris_process_cpu_seconds_total']));
      const inside = await names(inLibreChat);
      expect(inside.filter((n) => n.startsWith('solaris_nodejs_') || n.startsWith('solaris_process_'))).toEqual([]);
      expect(inside).toContain('solaris_proxy_requests_total'); // our own counters stay
    } finally {
      await inLibreChat.shutdown();
      await standalone.shutdown();
    }
  });
});
