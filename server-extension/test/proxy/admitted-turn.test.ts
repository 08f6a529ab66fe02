/**
 * One hold per turn: a call for a turn the host's chat gate already admitted (and holds tokens for) is not held
 * again by the proxy, whichever source writes the ledger, and its answer is capped to what the gate's hold covers.
 */
import { startProxyStack, type ProxyStack } from './harness';

/** Turns the "gate" admitted: user → completion tokens its hold covers. */
const admitted = new Map<string, number>();
const admittedTurn = (userId: string) => (admitted.has(userId) ? { completionTokens: admitted.get(userId)! } : null);

describe.each(['proxy', 'librechat'] as const)('a gate-admitted turn through the proxy (metering source %s)', (source) => {
  let s: ProxyStack;
  let n = 0;
  /** A user with 3,000 tokens for the period. */
  const user = async () => {
    const u = `adm-${source}-${++n}`;
    await s.te.engine.admin.setLimitOverride({ userId: u, limit: 3_000 }, { id: 'test-operator' });
    return u;
  };
  beforeAll(async () => {
    s = await startProxyStack({ store: 'redis', env: { SOLARIS_METERING_SOURCE: source }, admittedTurn });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('is answered near the quota end without a second hold, capped to the gate hold, and charged once by its source', async () => {
    const u = await user();
    // The gate's hold: everything the user has left (3,000), of which 2,990 for the answer.
    const gate = await s.te.engine.reserve({ userId: u, requestId: `lcgate:${u}`, model: 'fake-model', tokens: 4_106, minTokens: 11 });
    expect(gate.ok).toBe(true);
    admitted.set(u, gate.tokens - 10);
    const before = s.fake.requests.length;
    const r = await s.client(u).chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Resuma a conversa até aqui. '.repeat(20) }] });
    expect(r.choices[0]!.message.content).toBeTruthy();
    const sent = s.fake.requests[before]!.json as { max_tokens?: number; max_completion_tokens?: number };
    expect(gate.tokens).toBe(3_000);
    expect(sent.max_tokens ?? sent.max_completion_tokens).toBe(2_990);
    await s.proxy.drain();
    const b = await s.te.engine.balance(u);
    expect(b.reserved).toBe(gate.estimate); // the gate's hold only: the proxy held and freed nothing
    expect(await s.ledgerCount(u)).toBe(source === 'proxy' ? 1 : 0); // the hook charges it under `librechat`
    if (source === 'proxy') expect(b.used).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  it('a user with no admitted turn in flight is gated by the proxy itself', async () => {
    const u = await user();
    await s.te.engine.reserve({ userId: u, requestId: `other:${u}`, model: 'fake-model', tokens: 3_000, minTokens: 3_000 });
    const before = s.fake.requests.length;
    await expect(s.client(u).chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá' }] })).rejects.toMatchObject({ status: 402 });
    expect(s.fake.requests.length).toBe(before);
  });
});
