/**
 * The gate's prompt estimate (docs/reservation-policy.md, "The LibreChat gate's estimate"): LibreChat's own
 * loaded o200k tokenizer when it is there, else the UTF-8 bytes — an upper bound either way, and never rank
 * tables of ours. The "host" here is a folder with an `@librechat/api` whose Tokenizer singleton has the shape of
 * LibreChat v0.8.7's (ai-tokenizer instance in `tokenizersCache.o200k_base`), built on gpt-tokenizer's o200k.
 */
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import { countTextTokens, useHostApiDir } from '../src/lib/estimate';
import { utf8Bytes } from '@solaris/server-extension';

interface GptCore {
  tokenSplitRegex: RegExp;
  getBpeRankFromString(s: string): number | undefined;
  bytePairEncode(s: string): number[];
}
const core = (o200k as unknown as { default: { bytePairEncodingCoreProcessor: GptCore } }).default.bytePairEncodingCoreProcessor;
const exact = (s: string) => o200k.encode(s, { disallowedSpecial: new Set() }).length;

/** An ai-tokenizer-shaped instance (patternRegex, stringRankEncoder as a plain-object lookup, bytePairEncode). */
function aiTokenizerLike() {
  const ranks = new Proxy(
    {},
    {
      getOwnPropertyDescriptor: (_t, k) => {
        const r = typeof k === 'string' ? core.getBpeRankFromString(k) : undefined;
        return r === undefined ? undefined : { value: r, configurable: true, enumerable: true, writable: true };
      },
      get: (_t, k) => (typeof k === 'string' ? core.getBpeRankFromString(k) : undefined),
    },
  );
  return { patternRegex: new RegExp(core.tokenSplitRegex.source, 'gu'), stringRankEncoder: ranks, bytePairEncode: (s: string) => core.bytePairEncode(s) };
}

const prose = 'Olá! Pode resumir o relatório de vendas do trimestre em três frases? The quick brown fox jumps over the lazy dog.';

describe('gate estimate', () => {
  let dir: string;
  let apiDir: string;
  let apiPath: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'solaris-host-tokenizer-'));
    apiDir = join(dir, 'api');
    const pkg = join(dir, 'node_modules', '@librechat', 'api');
    mkdirSync(pkg, { recursive: true });
    mkdirSync(apiDir);
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@librechat/api', main: 'index.js' }));
    writeFileSync(join(pkg, 'index.js'), 'exports.Tokenizer = { tokenizersCache: {}, loadingPromises: {} };\n');
    apiPath = createRequire(join(apiDir, 'x.js')).resolve('@librechat/api');
  });
  afterAll(() => {
    const req = createRequire(join(apiDir, 'x.js'));
    delete req.cache[apiPath];
    rmSync(dir, { recursive: true, force: true });
  });

  it('without LibreChat’s tokenizer: the UTF-8 bytes, never below the exact count', () => {
    useHostApiDir(apiDir); // resolvable, but LibreChat has not required it: not used
    expect(countTextTokens(prose)).toBe(Buffer.byteLength(prose));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
        expect(countTextTokens(s)).toBe(utf8Bytes(s));
        expect(countTextTokens(s)).toBeGreaterThanOrEqual(exact(s));
      }),
      { numRuns: 200 },
    );
  });

  it('with LibreChat’s loaded o200k tokenizer: exact for prose, an upper bound for any text, bounded time', () => {
    const req = createRequire(join(apiDir, 'x.js'));
    const api = req('@librechat/api') as { Tokenizer: { tokenizersCache: Record<string, unknown> } };
    useHostApiDir(apiDir);
    // Required by LibreChat but the encoding not built yet (before its first chat): still the bytes.
    expect(countTextTokens(prose)).toBe(Buffer.byteLength(prose));
    api.Tokenizer.tokenizersCache.o200k_base = aiTokenizerLike();
    expect(countTextTokens(prose)).toBe(exact(prose));
    expect(countTextTokens('')).toBe(0);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })), (s) => {
        expect(countTextTokens(s)).toBeGreaterThanOrEqual(exact(s));
      }),
      { numRuns: 300 },
    );
    // A long unbroken run: a whole-text BPE is quadratic; the bound counts its bytes.
    const t0 = performance.now();
    expect(countTextTokens('a'.repeat(2_000_000))).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(2_000);
    // LibreChat dropped its instance after an error: back to the bytes until it rebuilds one.
    delete api.Tokenizer.tokenizersCache.o200k_base;
    expect(countTextTokens(prose)).toBe(Buffer.byteLength(prose));
    // A shape we do not know (another LibreChat version): the bytes, never an exception.
    api.Tokenizer.tokenizersCache.o200k_base = { count: () => 1 };
    expect(countTextTokens(prose)).toBe(Buffer.byteLength(prose));
  });
});
