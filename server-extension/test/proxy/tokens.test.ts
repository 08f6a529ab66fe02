import { countTextTokens, encodingFor, estimatePromptTokens } from '../../src/adapters/proxy';
import { toWellFormed } from '../../src/core/text';

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
    // One high-detail image on gpt-4o: at most 85 + 170 × 8 tiles (a 768×2048 image), not the bytes.
    expect(n).toBeGreaterThan(1445);
    expect(n).toBeLessThan(1480);
    const t0 = performance.now();
    const big = countTextTokens('x'.repeat(300_000) + ' palavra'.repeat(50_000), 'gpt-4o');
    expect(performance.now() - t0).toBeLessThan(2_000); // one 300 kB "word" in a single BPE pass takes many seconds
    expect(big).toBeGreaterThan(80_000);
  });

  it('ordinary text: the bound is the exact count (vocabulary hits and short pieces are exact)', async () => {
    const { countTokens } = await import('gpt-tokenizer/encoding/cl100k_base');
    const prose = Array.from({ length: 400 }, (_, i) => `Mensagem ${i}: o usuário pergunta sobre a cota número ${i * 7} e o relatório de ${i % 12 + 1}/2026.`).join('\n');
    const code = Array.from({ length: 2_500 }, (_, i) => `const v${i} = items.filter((x) => x.id !== ${i}).map((x) => ({ ...x, n: ${i} }));`).join('\n');
    const mixed = prose + '\n' + code; // ~40 kB of prose, then ~190 kB of code
    expect(mixed.length).toBeGreaterThan(200_000);
    const t0 = performance.now();
    const est = countTextTokens(mixed, 'gpt-4');
    const ms = performance.now() - t0;
    expect(est).toBe(countTokens(mixed, { disallowedSpecial: new Set<string>() }));
    expect(ms).toBeLessThan(1_000); // ~10-40 ms on the 2-vCPU box (bench figures in bench/README.md)
  });

  it('F2: cheap text where a sampler would look, expensive elsewhere — the estimate stays ≥ the real count', async () => {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    // The old estimate sampled 8 windows of 2,000 chars spread evenly over a text longer than 16,000 chars.
    const L = 120_000;
    const step = (L - 2_000) / 7;
    const windows = Array.from({ length: 8 }, (_, k) => Math.round(k * step));
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let text = '';
    while (text.length < L) {
      const at = text.length;
      const inWindow = windows.some((w) => at >= w && at < w + 2_000);
      text += inWindow ? ' the' : B64[Math.floor(rnd() * 64)];
    }
    const real = countTokens(text, { disallowedSpecial: new Set<string>() });
    const est = countTextTokens(text, 'gpt-4o');
    expect(est).toBeGreaterThanOrEqual(real);
    expect(est).toBeLessThan(real * 1.5); // an upper bound, not a wild one
  });

  it('property: for any text the estimate is ≥ the exact token count and ≤ its UTF-8 bytes', async () => {
    const fc = (await import('fast-check')).default;
    const o200k = await import('gpt-tokenizer/encoding/o200k_base');
    const cl100k = await import('gpt-tokenizer/encoding/cl100k_base');
    const noSpecial = { disallowedSpecial: new Set<string>() };
    const piece = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.constantFrom(' the', 'usuário', '<|endoftext|>', '\n\n', '   ', '12345678', 'ação', '你好世界', '🙂👍'),
      fc.stringMatching(/^[A-Za-z]{30,300}$/), // long unbroken runs: counted by their bytes
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.boolean(), (parts, o) => {
        const text = parts.join('');
        const model = o ? 'gpt-4o' : 'gpt-4';
        const exact = (o ? o200k : cl100k).countTokens(text, noSpecial);
        const est = countTextTokens(text, model);
        expect(est).toBeGreaterThanOrEqual(exact);
        expect(est).toBeLessThanOrEqual(Buffer.byteLength(toWellFormed(text)));
      }),
      { numRuns: 300 },
    );
  });

  it('images, audio and tools are counted as billed (upper bounds)', () => {
    const img = (detail?: string) => ({ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', ...(detail ? { detail } : {}) } });
    const chat = (parts: unknown[]) => ({ messages: [{ role: 'user', content: parts }] });
    // gpt-4o-mini bills 2,833 + 5,667 per tile: a 768×2048 image (8 tiles) is 48,169 tokens; low detail 2,833.
    expect(estimatePromptTokens(chat([img()]), 'gpt-4o-mini')).toBeGreaterThanOrEqual(48_169);
    expect(estimatePromptTokens(chat([img('low')]), 'gpt-4o-mini')).toBeGreaterThanOrEqual(2_833);
    expect(estimatePromptTokens(chat([img('low')]), 'gpt-4o-mini')).toBeLessThan(3_000);
    expect(estimatePromptTokens(chat([img()]), 'openai/gpt-4o')).toBeGreaterThanOrEqual(1_445);
    // Audio: 10 tokens a second, the duration bounded from the size at 8 kbit/s: 60 s of mp3 at 8 kbit/s ≥ 600.
    const mp3 = 'A'.repeat(Math.ceil((60_000 * 4) / 3));
    expect(estimatePromptTokens(chat([{ type: 'input_audio', input_audio: { data: mp3, format: 'mp3' } }]), 'gpt-4o-audio-preview')).toBeGreaterThanOrEqual(600);
    // Tool definitions, tool calls and tool results are text the model is shown.
    const desc = 'Busca a previsão do tempo detalhada de uma cidade. '.repeat(40);
    const withTools = estimatePromptTokens({ messages: [{ role: 'user', content: 'oi' }], tools: [{ type: 'function', function: { name: 'clima', description: desc } }] }, 'gpt-4o');
    expect(withTools).toBeGreaterThan(countTextTokens(desc, 'gpt-4o'));
    const toolMsg = estimatePromptTokens({ messages: [{ role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: desc }] }] }, 'gpt-4o');
    expect(toolMsg).toBeGreaterThan(countTextTokens(desc, 'gpt-4o'));
  });
});
