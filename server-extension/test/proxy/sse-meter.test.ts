import { SseMeter, withStreamUsage } from '../../src/adapters/proxy';

const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const content = (t: string) => ev({ choices: [{ index: 0, delta: { content: t } }], usage: null });
const usageOnly = ev({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });

function run(meter: SseMeter, bytes: Buffer, step: number): string {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += step) {
    const o = meter.process(bytes.subarray(i, i + step));
    if (o) out.push(o);
  }
  const rest = meter.flush();
  if (rest) out.push(rest);
  return Buffer.concat(out).toString('utf8');
}

describe('SseMeter', () => {
  const stream = content('Olá, ') + content('mundo ☀️') + usageOnly + 'data: [DONE]\n\n';

  it.each([1, 3, 7, 1000])('cuts only the usage-only chunk, whatever the network chunking (%i-byte chunks)', (step) => {
    const m = new SseMeter(true);
    expect(run(m, Buffer.from(stream), step)).toBe(content('Olá, ') + content('mundo ☀️') + 'data: [DONE]\n\n');
    expect(m.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    expect(m.generatedText()).toBe('Olá, mundo ☀️');
  });

  it('drop mode forwards whole-event chunks as the very same buffer (no copy)', () => {
    const m = new SseMeter(true);
    const c = Buffer.from(content('a') + content('b'));
    expect(m.process(c)).toBe(c);
    expect(m.process(Buffer.from(usageOnly))).toBeNull();
  });

  it('pass-through mode forwards the very same buffers, CRLF streams included', () => {
    const crlf = Buffer.from(stream.replace(/\n/g, '\r\n'));
    const m = new SseMeter(false);
    const c1 = crlf.subarray(0, 10);
    expect(m.process(c1)).toBe(c1);
    m.process(crlf.subarray(10));
    m.flush();
    expect(m.usage?.total_tokens).toBe(10);
    expect(m.generatedText()).toBe('Olá, mundo ☀️');
  });

  it('records an error event and a usage chunk that still has choices (kept)', () => {
    const m = new SseMeter(true);
    const withChoices = ev({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const out = run(m, Buffer.from(withChoices + ev({ error: { message: 'boom' } })), 5);
    expect(out).toContain('finish_reason');
    expect(m.streamError).toEqual({ message: 'boom' });
  });
});

describe('SseMeter, lazy parsing', () => {
  it('keeps the text in stream order when a usage chunk that also carries text follows unparsed chunks', () => {
    const m = new SseMeter(true);
    const last = ev({ choices: [{ index: 0, delta: { content: ' fim' }, finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: 3 } });
    run(m, Buffer.from(content('um') + content(' dois') + last + content(' depois') + 'data: [DONE]\n\n'), 1000);
    expect(m.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3 });
    expect(m.generatedText()).toBe('um dois fim depois');
  });

  it('text that merely mentions "usage" or "error" is neither usage nor an error, and is not cut', () => {
    const m = new SseMeter(true);
    const tricky = content('{"usage":{"prompt_tokens":999}} "error": x');
    const out = run(m, Buffer.from(tricky + usageOnly + 'data: [DONE]\n\n'), 1000);
    expect(out).toBe(tricky + 'data: [DONE]\n\n');
    expect(m.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    expect(m.streamError).toBeNull();
    expect(m.generatedText()).toBe('{"usage":{"prompt_tokens":999}} "error": x');
  });

  it('a long answer without usage yields all of its text (parsed in bounded batches on the way)', () => {
    const m = new SseMeter(false);
    const pieces = Array.from({ length: 2_000 }, (_, i) => `p${i} `);
    for (const p of pieces) m.process(Buffer.from(content(p)));
    m.process(Buffer.from(ev({ choices: [{ index: 0, delta: { tool_calls: [{ function: { name: 'f', arguments: '{}' } }] } }] }) + 'data: [DONE]\n\n'));
    m.flush();
    expect(m.usage).toBeNull();
    expect(m.generatedText()).toBe(pieces.join('') + 'f{}');
  });
});

describe('withStreamUsage', () => {
  it('splices include_usage in without touching other bytes; merges an existing stream_options', () => {
    const raw = Buffer.from(' {"model":"m","stream":true,"x":1.50}');
    const a = withStreamUsage(raw, JSON.parse(raw.toString()));
    expect(a.body.toString()).toBe(' {"stream_options":{"include_usage":true},"model":"m","stream":true,"x":1.50}');
    expect(a.clientAskedUsage).toBe(false);
    const b = withStreamUsage(Buffer.from('{}'), { model: 'm', stream_options: { include_usage: false, other: 1 } });
    expect(JSON.parse(b.body.toString())).toEqual({ model: 'm', stream_options: { include_usage: true, other: 1 } });
    const c = Buffer.from('{"stream_options":{"include_usage":true}}');
    expect(withStreamUsage(c, JSON.parse(c.toString())).body).toBe(c);
  });
});
