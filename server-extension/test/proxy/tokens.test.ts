import { countTextTokens, encodingFor, estimatePromptTokens, maxCompletionTokens } from '../../src/adapters/proxy';

describe('prompt estimates', () => {
  it('picks o200k for gpt-4o / o-series and cl100k otherwise', () => {
    expect(encodingFor('gpt-4o-mini')).toBe('o200k');
    expect(encodingFor('openai/o3-mini')).toBe('o200k');
    expect(encodingFor('gpt-4')).toBe('cl100k');
    expect(encodingFor('claude-3-5-sonnet')).toBe('cl100k');
    expect(countTextTokens('hello world', 'gpt-4o')).toBe(2);
  });

  it('counts message text only (no base64 image bytes) and bounds work on pathological input', () => {
    const img = { type: 'image_url', image_url: { url: 'data:image/png;base64,' + 'A'.repeat(200_000) } };
    const body = { messages: [{ role: 'user', content: [{ type: 'text', text: 'o que é isto?' }, img] }] };
    const n = estimatePromptTokens(body, 'gpt-4o');
    expect(n).toBeGreaterThan(765);
    expect(n).toBeLessThan(800);
    const t0 = performance.now();
    const big = countTextTokens('x'.repeat(300_000) + ' palavra'.repeat(50_000), 'gpt-4o');
    expect(performance.now() - t0).toBeLessThan(2_000); // one 300 kB "word" in a single BPE pass takes many seconds
    expect(big).toBeGreaterThan(80_000);
  });

  it('long texts: exact up to 16,000 chars, beyond that a sample within a few % of the exact count, in bounded time', async () => {
    const { countTokens } = await import('gpt-tokenizer/encoding/cl100k_base');
    const exact = (t: string) => {
      let n = 0;
      for (let i = 0; i < t.length; i += 2_000) n += countTokens(t.slice(i, i + 2_000), { disallowedSpecial: new Set<string>() });
      return n;
    };
    const prose = Array.from({ length: 400 }, (_, i) => `Mensagem ${i}: o usuário pergunta sobre a cota número ${i * 7} e o relatório de ${i % 12 + 1}/2026.`).join('\n');
    const code = Array.from({ length: 2_500 }, (_, i) => `const v${i} = items.filter((x) => x.id !== ${i}).map((x) => ({ ...x, n: ${i} }));`).join('\n');
    const short = prose.slice(0, 15_000);
    expect(countTextTokens(short, 'gpt-4')).toBe(exact(short));
    const mixed = prose + '\n' + code; // ~40 kB of prose, then ~190 kB of code
    expect(mixed.length).toBeGreaterThan(200_000);
    const t0 = performance.now();
    const est = countTextTokens(mixed, 'gpt-4');
    const ms = performance.now() - t0;
    const real = exact(mixed);
    expect(Math.abs(est - real) / real).toBeLessThan(0.05);
    // Exact counting of this text takes ~15× longer; the sample costs what 16 kB do.
    expect(ms).toBeLessThan(50);
  });

  it('completion cap: max_completion_tokens / max_tokens × n, else the default', () => {
    expect(maxCompletionTokens({ max_tokens: 100 }, 1024)).toBe(100);
    expect(maxCompletionTokens({ max_completion_tokens: 50, max_tokens: 100 }, 1024)).toBe(50);
    expect(maxCompletionTokens({ n: 3 }, 1024)).toBe(3072);
    expect(maxCompletionTokens({ max_tokens: 'x' }, 1024)).toBe(1024);
  });
});
