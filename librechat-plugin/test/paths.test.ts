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
});

describe('in-flight registry', () => {
  it('frees one reservation per message, preferring the same conversation', () => {
    const r = new InflightRegistry();
    const base = { userId: 'u', startedAt: 0, expiresAt: Date.now() + 60_000 };
    r.add({ ...base, requestId: 'r1', conversationId: null });
    r.add({ ...base, requestId: 'r2', conversationId: 'c2' });
    expect(r.takeForSpend('u', 'c2', 'm1')?.requestId).toBe('r2');
    expect(r.takeForSpend('u', 'c2', 'm1')).toBeUndefined(); // completion row of the same message
    expect(r.takeForSpend('u', null, 'm2')?.requestId).toBe('r1');
    expect(r.count('u')).toBe(0);
  });
});
