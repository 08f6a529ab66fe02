import fc from 'fast-check';
import { createGateMatcher, isSolarisPath, normalizeAnyRequestPath, normalizeRequestPath } from '../src/lib/paths';
import { injectWidget, isLibreChatIndexHtml, WIDGET_TAG } from '../src/lib/html';
import { TransactionMeter, tokensOf } from '../src/lib/transaction-meter';
import { InflightRegistry } from '../src/lib/inflight';

describe('gate path matching (what Express would route to the chat controller)', () => {
  const gated = createGateMatcher({});
  it.each([
    '/api/agents/chat',
    '/api/agents/chat/',
    '/api/agents/chat/FakeAI',
    '/api/agents/chat/FakeAI/',
    '/api/agents/chat/./FakeAI',
    '/api/agents/chat/FakeAI;x',
    '/API/agents/Chat/X',
    '/api/agents/chat/resume',
    '/api/agents/%63hat/x?stream=1',
    '/api/agents/x/../chat/y',
    '/api/agents/v1/chat/completions',
    '/api/agents/v1/responses/',
    '/api/assistants/v2/chat',
    '/api/assistants/v1/chat',
  ])('gates POST %s', (p) => expect(gated('POST', p)).toBe(true));

  it.each(['/api/agents/chat/abort', '/api/agents/chat/stream/abc', '/api/agents', '/api/convos', '/api/agents/chat/a/b'])('does not gate POST %s', (p) =>
    expect(gated('POST', p)).toBe(false),
  );
  it('gates only POST', () => expect(gated('GET', '/api/agents/chat')).toBe(false));
  it('takes the list from SOLARIS_GATED_PATHS', () => {
    const custom = createGateMatcher({ SOLARIS_GATED_PATHS: '/api/custom/*' });
    expect(custom('POST', '/api/custom/x')).toBe(true);
    expect(custom('POST', '/api/agents/chat')).toBe(false);
  });
  it('normalises like Express', () => expect(normalizeRequestPath('/API//Agents/./chat/X;y=1/?q')).toBe('/api/agents/chat/x'));
  it('the plain-path shortcut normalises exactly as the general case, whatever the target', () => {
    const piece = fc.constantFrom('/', '//', '.', '..', '%2F', '%63', '%', ';x', '?q=1', '#h', '\\', 'api', 'Agents', 'chat', 'X', 'v1', '-', '_', '~', 'http://h');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const url = parts.join('');
        expect(normalizeRequestPath(url)).toBe(normalizeAnyRequestPath(url));
      }),
      { numRuns: 5_000 },
    );
    expect(normalizeRequestPath('/API/agents/Chat/FakeAI/')).toBe('/api/agents/chat/fakeai');
  });
  it('routes /solaris in any casing to us, nothing else', () => {
    expect(isSolarisPath('/solaris/api/me')).toBe(true);
    expect(isSolarisPath('/SOLARIS/api/me')).toBe(true);
    expect(isSolarisPath('/solaris')).toBe(true);
    expect(isSolarisPath('/solarisx')).toBe(false);
    expect(isSolarisPath('/api/solaris')).toBe(false);
  });
});

describe('index.html injection', () => {
  const html = '<html><head><title>x</title></head><body></body></html>';
  it('adds the tag before </head>, once', () => {
    const once = injectWidget(html);
    expect(once).toContain(`${WIDGET_TAG}</head>`);
    expect(injectWidget(once)).toBe(once);
  });
  it('only touches client/dist/index.html', () => {
    expect(isLibreChatIndexHtml('/app/client/dist/index.html')).toBe(true);
    expect(isLibreChatIndexHtml('/app/api/index.html')).toBe(false);
  });
});

describe('Transaction meter', () => {
  it('reads tokens from -rawAmount and ignores refills', () => {
    expect(tokensOf({ rawAmount: -42 })).toBe(42);
    expect(tokensOf({ rawAmount: 5000 })).toBe(0);
    expect(tokensOf({ inputTokens: 10, writeTokens: 2, readTokens: 3 })).toBe(15);
  });

  it('groups prompt + completion of one message, counts each document once, retries failures', async () => {
    const calls: Array<{ requestId: string; promptTokens: number; completionTokens: number }> = [];
    let fail = 1;
    const meter = new TransactionMeter({
      coalesceMs: 10,
      retryBaseMs: 1,
      settler: async () => async (req) => {
        if (fail-- > 0) throw new Error('store down');
        calls.push(req);
        return { duplicate: false } as never;
      },
    });
    const u = 'a'.repeat(24);
    const p = { _id: 'b'.repeat(24), user: u, tokenType: 'prompt', rawAmount: -42, messageId: 'm', model: 'x', context: 'message' };
    const c = { _id: 'a'.repeat(24), user: u, tokenType: 'completion', rawAmount: -6, messageId: 'm', model: 'x', context: 'message' };
    meter.accept([p, c]);
    meter.accept(c); // the same document again (a re-save): ignored
    await meter.drain();
    expect(calls).toEqual([expect.objectContaining({ requestId: `lc:${'a'.repeat(24)}`, promptTokens: 42, completionTokens: 6 })]);
  });

  it('settles a turn as soon as its prompt and completion are both recorded, a lone row after the window', async () => {
    const calls: Array<{ requestId: string; promptTokens: number; completionTokens: number; releaseRequestId?: string | null }> = [];
    const meter = new TransactionMeter({
      coalesceMs: 60_000, // a window no test waits for: only a complete turn may settle
      holdOf: () => 'hold-1',
      settler: async () => async (req) => {
        calls.push(req);
        return { duplicate: false } as never;
      },
    });
    const u = 'c'.repeat(24);
    const row = (id: string, tokenType: string, messageId: string, rawAmount: number) => ({ _id: id.repeat(24), user: u, tokenType, rawAmount, messageId, model: 'x', context: 'message' });
    meter.accept([row('1', 'prompt', 'm1', -10), row('2', 'completion', 'm1', -3)]); // agents path: insertMany
    meter.accept(row('3', 'prompt', 'm2', -20)); // fallback path: saved one by one
    meter.accept(row('5', 'prompt', 'm3', -7)); // a prompt whose completion never comes
    meter.accept(row('4', 'completion', 'm2', -4));
    await vi.waitFor(() => expect(calls).toHaveLength(2), { timeout: 2_000 });
    expect(calls).toEqual([
      expect.objectContaining({ requestId: `lc:${'1'.repeat(24)}`, promptTokens: 10, completionTokens: 3, releaseRequestId: 'hold-1' }),
      expect.objectContaining({ requestId: `lc:${'3'.repeat(24)}`, promptTokens: 20, completionTokens: 4 }),
    ]);
    await meter.drain(); // the lone prompt row: at the window's end (here: drained)
    expect(calls[2]).toEqual(expect.objectContaining({ requestId: `lc:${'5'.repeat(24)}`, promptTokens: 7, completionTokens: 0 }));
  });
});

describe('metering by another source (proxy, litellm)', () => {
  it("frees the gate's hold when the turn is recorded, and writes nothing", async () => {
    const freed: Array<[string, string]> = [];
    const meter = new TransactionMeter({
      settler: async () => null,
      holdOf: (spend) => (spend.context === 'title' ? null : `hold-${spend.messageId}`),
      releaseHold: (userId, holdId) => freed.push([userId, holdId]),
    });
    const u = 'd'.repeat(24);
    const row = (id: string, tokenType: string, context: string) => ({ _id: id.repeat(24), user: u, tokenType, rawAmount: -5, messageId: 'm9', model: 'x', context });
    meter.accept([row('1', 'prompt', 'message'), row('2', 'completion', 'message')]);
    meter.accept([row('3', 'prompt', 'title'), row('4', 'completion', 'title')]);
    await meter.drain();
    expect(freed).toEqual([[u, 'hold-m9']]); // before: held until SOLARIS_RESERVATION_TTL_MS, 4 turns then refused
  });
});

describe('in-flight registry', () => {
  it('frees one reservation per message, preferring the same conversation', () => {
    const r = new InflightRegistry();
    const base = { userId: 'u', startedAt: 0, expiresAt: Date.now() + 60_000, completionTokens: 100 };
    r.add({ ...base, requestId: 'r1', conversationId: null });
    r.add({ ...base, requestId: 'r2', conversationId: 'c2' });
    // The proxy's look at a turn takes nothing: same conversation first, else the oldest; none for another user.
    expect(r.peek('u', 'c2')?.requestId).toBe('r2');
    expect(r.peek('u', 'other')?.requestId).toBe('r1');
    expect(r.peek('someone-else', null)).toBeUndefined();
    expect(r.takeForSpend('u', 'c2', 'm1')?.requestId).toBe('r2');
    expect(r.takeForSpend('u', 'c2', 'm1')).toBeUndefined(); // completion row of the same message
    expect(r.takeForSpend('u', null, 'm2')?.requestId).toBe('r1');
    expect(r.count('u')).toBe(0);
  });
});
