import { createRequire } from 'node:module';
import { sep } from 'node:path';

/**
 * The o200k tokenizer LibreChat already holds in its own process, if it has loaded it.
 *
 * LibreChat v0.8.7 counts tokens with `ai-tokenizer` through `@librechat/api`'s `Tokenizer` singleton
 * (packages/api/src/utils/tokenizer.ts): the o200k_base encoding is built on LibreChat's first count (its first
 * chat) and kept in `Tokenizer.tokenizersCache.o200k_base`. Reading that instance costs this process nothing;
 * building our own rank tables cost ~0.4 s and ~50–75 MB (bench:gate). We never make LibreChat load anything:
 * the module is used only when LibreChat itself already required it (it is in `require.cache`) and the
 * encoding is built. Anything else (another LibreChat version, the test host) → null, and the gate uses a
 * table-free bound (prompt-bound.ts).
 */
export interface HostCore {
  /** The encoding's pre-tokenizer (own copy, global flag): BPE never merges across its pieces. */
  splitRegex: RegExp;
  /** Rank of a piece that is one vocabulary entry, else undefined. */
  rankOf(piece: string): number | undefined;
  /** Exact BPE tokens of one piece. */
  encodePiece(piece: string): number;
}

interface AiTokenizerShape {
  patternRegex?: unknown;
  stringRankEncoder?: unknown;
  bytePairEncode?: unknown;
}

/** Wraps an ai-tokenizer `Tokenizer` instance, or null if its shape is not the one we know. */
export function coreOfAiTokenizer(tk: unknown): HostCore | null {
  const t = tk as AiTokenizerShape | null;
  if (!t || typeof t !== 'object') return null;
  const re = t.patternRegex;
  const ranks = t.stringRankEncoder;
  const encode = t.bytePairEncode;
  if (!(re instanceof RegExp) || !ranks || typeof ranks !== 'object' || typeof encode !== 'function') return null;
  const own = Object.prototype.hasOwnProperty;
  return {
    splitRegex: new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'),
    rankOf: (piece) => {
      const r = own.call(ranks, piece) ? (ranks as Record<string, unknown>)[piece] : undefined;
      return typeof r === 'number' ? r : undefined;
    },
    encodePiece: (piece) => {
      const out = (encode as (s: string) => unknown).call(t, piece);
      if (!out || typeof (out as { length?: unknown }).length !== 'number') throw new Error('ai-tokenizer bytePairEncode changed');
      return (out as { length: number }).length;
    },
  };
}

/**
 * Finds LibreChat's loaded o200k tokenizer. `apiDir` is LibreChat's `api/` folder (host.ts libreChatApiDir).
 * The module path is resolved once; the encoding is looked up on every call until it is there (LibreChat
 * builds it on its first chat), then kept.
 */
export function hostTokenizerLookup(apiDir: string): () => HostCore | null {
  const req = createRequire(apiDir.endsWith(sep) ? apiDir : apiDir + sep);
  let path: string | null | undefined;
  let core: HostCore | null = null;
  let tokenizer: unknown = null;
  return () => {
    if (path === undefined) {
      try {
        path = req.resolve('@librechat/api', { paths: [apiDir] });
      } catch {
        path = null;
      }
    }
    if (!path) return null;
    // req.cache is Node's one module cache: present only if LibreChat required the module.
    const mod = req.cache[path]?.exports as { Tokenizer?: { tokenizersCache?: Record<string, unknown> } } | undefined;
    const current = mod?.Tokenizer?.tokenizersCache?.o200k_base ?? null;
    // LibreChat drops and rebuilds its instance after an error: follow it.
    if (current !== tokenizer) {
      tokenizer = current;
      core = coreOfAiTokenizer(current);
    }
    return core;
  };
}
