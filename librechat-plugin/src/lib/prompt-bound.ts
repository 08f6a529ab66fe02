import { utf8Bytes } from '@solaris/server-extension';
import type { HostCore } from './host-tokenizer';

/**
 * Upper bound on the o200k tokens of the prompt text the gate sees, without rank tables of our own.
 *
 * - With LibreChat's loaded tokenizer (host-tokenizer.ts): the algorithm of the metering proxy's bound
 *   (server-extension/src/adapters/proxy/token-bound.ts) on LibreChat's tables — split with the encoding's
 *   regex (BPE never merges across pieces), a vocabulary piece is 1 token, a short piece is BPE-encoded exactly
 *   while the budget lasts, any other piece and everything past SCAN_CHARS counts its UTF-8 bytes. Exact for
 *   prose and code; bounded CPU on long unbroken runs (a whole-text count is quadratic there: 16,000 × "a"
 *   took 0.66 s in ai-tokenizer).
 * - Without it: the UTF-8 byte length (every token covers at least one byte). About 4× the count for English
 *   prose, ~2–3× for Portuguese; docs/reservation-policy.md says what that changes.
 */
const SHORT_PIECE = 32;
const BPE_BUDGET_CHARS = 32_000;
const SCAN_CHARS = 1_000_000;

export function promptTokenBound(text: string, core: HostCore | null): number {
  if (!text) return 0;
  if (!core) return utf8Bytes(text);
  const re = core.splitRegex; // global: exec walks it; synchronous, so sharing it is safe
  re.lastIndex = 0;
  let budget = BPE_BUDGET_CHARS;
  let tokens = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const piece = m[0];
    if (piece.length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index >= SCAN_CHARS) return tokens + utf8Bytes(text, m.index);
    if (core.rankOf(piece) !== undefined) tokens += 1;
    else if (piece.length <= SHORT_PIECE && budget >= piece.length) {
      budget -= piece.length;
      tokens += core.encodePiece(piece);
    } else tokens += utf8Bytes(piece);
  }
  return tokens;
}
