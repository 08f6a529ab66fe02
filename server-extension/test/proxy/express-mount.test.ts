import express from 'express';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { createMeteringProxy } from '../../src/adapters/proxy';
import { PROXY_KEY, startProxyStack, type ProxyStack } from './harness';

describe('metering proxy mounted in Express', () => {
  let s: ProxyStack;
  beforeAll(async () => {
    s = await startProxyStack({ store: 'postgres' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('works under app.use("/v1", …) and app.use(…), and hands other paths to next()', async () => {
    const proxy = createMeteringProxy({ engine: s.te.engine, config: s.te.config, upstreamUrl: s.fake.url });
    const app = express();
    app.use('/v1', proxy); // Express strips the mount path from req.url; the proxy reads originalUrl
    app.use(proxy); // root-mounted: non-/v1 paths must fall through to next()
    app.use(express.json());
    app.post('/other', (_req, res) => res.json({ other: true }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: PROXY_KEY, maxRetries: 0, defaultHeaders: { 'X-Solaris-User-Id': 'express-user' } });
      const stream = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }], stream: true });
      let text = '';
      for await (const ch of stream) text += ch.choices[0]?.delta.content ?? '';
      expect(text).toContain('Olá!');
      await proxy.drain();
      expect(await s.ledgerCount('express-user')).toBe(1);
      const other = await fetch(`${url}/other`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(await other.json()).toEqual({ other: true });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await proxy.close();
    }
  });
});
