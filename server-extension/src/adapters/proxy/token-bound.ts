import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import { utf8Bytes } from '../../core/text';

/**
 * An UPPER BOUND on the BPE tokens of a text, that a client cannot shrink (docs/reservation-policy.md).
 *
 * Byte-level BPE (o200k, cl100k) first splits the text with the encoding's regex into pieces and never merges
 * across pieces, so tokens(text) = Σ tokens(piece). Per piece:
 * - a piece that is itself in the vocabulary is exactly 1 token (a Map lookup);
 * - a short piece (≤ SHORT_PIECE chars) is BPE-encoded exactly while the request's BPE budget lasts
 *   (gpt-tokenizer caches merges, so common words cost one lookup);
 * - any other piece counts its UTF-8 byte length: every token covers at least one byte, so bytes ≥ tokens.
 * Past SCAN_CHARS the remaining text (from a piece boundary of the full scan) counts its UTF-8 bytes too.
 * Every branch is exact or above, so the sum is ≥ the real count whatever the text; the budgets only bound
 * the CPU (long unbroken runs are quadratic in BPE; a budget-less scan of 20 MiB would hold the event loop).
 */
const SHORT_PIECE = 32;
/** Characters of non-vocabulary pieces BPE-encoded per text; past it such pieces count their bytes. */
const BPE_BUDGET_CHARS = 32_000;
/** Characters scanned piece by piece; the rest counts its bytes. */
const SCAN_CHARS = 1_000_000;

interface Core {
  tokenSplitRegex: RegExp;
  getBpeRankFromString(s: string): number | undefined;
  bytePairEncode(s: string): number[];
}

function coreOf(ns: unknown): Core {
  // The encoding object is the module's default export; bundlers (ESM ↔ CJS interop) may wrap it once more.
  type Api = { bytePairEncodingCoreProcessor?: Partial<Core>; default?: Api };
  const n = ns as Api;
  const core = [n.default, n.default?.default, n].find((x) => x?.bytePairEncodingCoreProcessor)?.bytePairEncodingCoreProcessor;
  // gpt-tokenizer is pinned; this fails loudly (at start-up, and in tests) if an upgrade moves its internals.
  if (!core || !(core.tokenSplitRegex instanceof RegExp) || !core.tokenSplitRegex.global || typeof core.getBpeRankFromString !== 'function' || typeof core.bytePairEncode !== 'function') {
    throw new Error('gpt-tokenizer internals changed: token-bound.ts needs tokenSplitRegex / getBpeRankFromString / bytePairEncode');
  }
  return core as Core;
}

// Looked up on first use: the operators' build loads the rank tables lazily (scripts/build-plugin.mjs), and
// touching the encoding object at module load would pull them into LibreChat's start-up.
const CORES: Partial<Record<'o200k' | 'cl100k', Core>> = {};
const coreFor = (enc: 'o200k' | 'cl100k'): Core => (CORES[enc] ??= coreOf(enc === 'o200k' ? o200k : cl100k));

export function encodingFor(model: string): 'o200k' | 'cl100k' {
  const m = model.toLowerCase().replace(/^.*\//, ''); // "openai/gpt-4o" → "gpt-4o"
  return /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o\d)/.test(m) ? 'o200k' : 'cl100k';
}

/** A shared BPE budget: one request's texts draw from one budget (see estimatePromptTokens). */
export interface BpeBudget {
  chars: number;
}

export const newBudget = (): BpeBudget => ({ chars: BPE_BUDGET_CHARS });

/** Upper bound on the tokens of `text` for `model` (see the file comment). */
export function countTextTokens(text: string, model: string, budget: BpeBudget = newBudget()): number {
  if (!text) return 0;
  const core = coreFor(encodingFor(model));
  const re = core.tokenSplitRegex; // global ('gu'): exec walks it; synchronous, so sharing it is safe
  re.lastIndex = 0;
  let tokens = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const piece = m[0];
    if (piece.length === 0) {
      re.lastIndex++; // never with these patterns; guards an endless loop
      continue;
    }
    if (m.index >= SCAN_CHARS) return tokens + utf8Bytes(text, m.index);
    if (core.getBpeRankFromString(piece) !== undefined) tokens += 1;
    else if (piece.length <= SHORT_PIECE && budget.chars >= piece.length) {
      budget.chars -= piece.length;
      tokens += core.bytePairEncode(piece).length;
    } else tokens += utf8Bytes(piece);
  }
  return tokens;
}
