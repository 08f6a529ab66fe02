/**
 * Period boundary: streams that start before and settle after midnight of the last day of the month are
 * charged to ONE period, deterministically — the period that contains the settlement time (docs/architecture.md
 * "Periods"). Through the metering proxy, with the engine's injected clock moved across midnight mid-stream.
 */
import type OpenAI from 'openai';
import { startProxyStack, type ProxyStack } from '../proxy/harness';

const BEFORE = '2026-11-30T23:59:59.000-03:00'; // last second of November in America/Sao_Paulo
const AFTER = '2026-12-01T00:00:01.000-03:00';

async function startStream(client: OpenAI): Promise<{ started: Promise<void>; done: Promise<number> }> {
  let startedResolve!: () => void;
  const started = new Promise<void>((r) => (startedResolve = r));
  const stream = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'virada do mês' }], stream: true, max_tokens: 50 });
  const done = (async () => {
    let n = 0;
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content) {
        n++;
        startedResolve();
      }
    }
    return n;
  })();
  return { started, done };
}

for (const store of ['redis', 'postgres'] as const) {
  describe(`period boundary through the proxy (${store} store)`, () => {
    let s: ProxyStack;
    beforeAll(async () => {
      s = await startProxyStack({ store, fake: { chunks: 20, chunkDelayMs: 15 }, env: { SOLARIS_MAX_INFLIGHT: '100' } });
    });
    afterAll(async () => s?.close());

    it('started 23:59:59 on the 30th, settled after midnight → all in December; finished before → November', async () => {
      const user = `boundary-${store}`;
      await s.te.engine.admin.setLimitOverride({ userId: user, limit: 100_000 }, { id: 'reliability' });
      s.te.clock.set(BEFORE);
      // Five requests start and finish in November.
      for (let i = 0; i < 5; i++) await (await startStream(s.client(user, { 'X-Solaris-Request-Id': `nov-${i}` }))).done;
      await s.proxy.drain();
      // Ten start in November (reserved in November's counter) and are still streaming at midnight.
      const streams = await Promise.all(Array.from({ length: 10 }, (_, i) => startStream(s.client(user, { 'X-Solaris-Request-Id': `cross-${i}` }))));
      await Promise.all(streams.map((x) => x.started));
      expect((await s.te.engine.balance(user)).reserved).toBeGreaterThan(0);
      s.te.clock.set(AFTER);
      expect((await Promise.all(streams.map((x) => x.done))).every((n) => n === 20)).toBe(true);
      await s.proxy.drain();

      const { rows } = await s.te.db.pool.query<{ period_key: string; n: number; w: number }>(
        `SELECT period_key, count(*)::int AS n, sum(weighted_tokens)::int AS w FROM ledger WHERE user_id = $1 GROUP BY period_key ORDER BY period_key`,
        [user],
      );
      expect(rows.map((r) => [r.period_key, r.n])).toEqual([
        ['2026-11', 5],
        ['2026-12', 10],
      ]);
      const dec = rows[1]!.w;
      const balance = await s.te.engine.balance(user);
      expect(balance).toMatchObject({ periodKey: '2026-12', used: dec, reserved: 0 });
      // November's statement keeps exactly its own five.
      const nov = await s.te.engine.statement(user, { period: '2026-11' });
      expect(nov.totals.requests).toBe(5);
      // A replay of a crossing request (same id) in December changes nothing.
      await (await startStream(s.client(user, { 'X-Solaris-Request-Id': 'cross-0' }))).done.catch(() => 0);
      await s.proxy.drain();
      expect((await s.te.engine.balance(user)).used).toBe(dec);
    });
  });
}
