import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMeteringProxy } from '../../src/adapters/proxy';
import { PROXY_KEY, startProxyStack, type ProxyStack } from './harness';

/**
 * Real outages, no mocks: the upstream is a closed port; the quota store's Redis connection is really
 * disconnected. SOLARIS_FAIL_MODE decides between 503 and an unmetered pass-through.
 */
describe('metering proxy: upstream down and quota store down', () => {
  let s: ProxyStack;
  beforeAll(async () => {
    s = await startProxyStack({ store: 'redis' });
  });
  afterAll(async () => {
    await s?.close();
  });

  async function serve(handler: ReturnType<typeof createMeteringProxy>) {
    const srv = createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => srv.close(() => r())) };
  }
  const chat = (url: string, user: string) =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': user },
      body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] }),
    });

  it('upstream unreachable: 502 upstream_error, reservation released', async () => {
    const proxy = createMeteringProxy({ engine: s.te.engine, config: s.te.config, upstreamUrl: 'http://127.0.0.1:9' });
    const srv = await serve(proxy);
    const r = await chat(srv.url, 'net-user');
    expect(r.status).toBe(502);
    expect(await r.json()).toMatchObject({ error: { code: 'upstream_error' } });
    await proxy.close();
    await srv.close();
    const b = await s.te.engine.balance('net-user');
    expect(b.reserved).toBe(0);
    expect(b.used).toBe(0);
  });

  it('store down: closed → 503 store_unavailable; open → answered unmetered', async () => {
    const closed = createMeteringProxy({ engine: s.te.engine, config: { ...s.te.config, SOLARIS_FAIL_MODE: 'closed' }, upstreamUrl: s.fake.url });
    const open = createMeteringProxy({ engine: s.te.engine, config: { ...s.te.config, SOLARIS_FAIL_MODE: 'open' }, upstreamUrl: s.fake.url });
    const a = await serve(closed);
    const b = await serve(open);
    s.te.testRedis!.disconnect(); // a real outage of the quota store
    try {
      const before = s.fake.requests.length;
      const r1 = await chat(a.url, 'outage-user');
      expect(r1.status).toBe(503);
      expect(await r1.json()).toMatchObject({ error: { code: 'store_unavailable' } });
      expect(s.fake.requests.length).toBe(before);

      const r2 = await chat(b.url, 'outage-user');
      expect(r2.status).toBe(200);
      expect(((await r2.json()) as { choices: unknown[] }).choices).toHaveLength(1);
      expect(s.fake.requests.length).toBe(before + 1);
      await open.drain();
      const { rows } = await s.te.db.pool.query(`SELECT count(*)::int AS n FROM ledger WHERE user_id = 'outage-user'`);
      expect(rows[0].n).toBe(0);
    } finally {
      await closed.close();
      await open.close();
      await a.close();
      await b.close();
    }
  });
});
