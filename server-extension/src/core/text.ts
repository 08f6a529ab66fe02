/**
 * Well-formed UTF-16 (no lone surrogates). Node 20 has String.prototype.isWellFormed / toWellFormed; the
 * project's TypeScript lib (ES2023) does not declare them yet.
 */
type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };

export const isWellFormed = (s: string): boolean => (s as WellFormedString).isWellFormed();

/** Lone surrogates become U+FFFD, as a UTF-8 encoding of the string does. */
export const toWellFormed = (s: string): string => (s as WellFormedString).toWellFormed();

/**
 * UTF-8 length of s[from, to) without encoding it (a lone surrogate is 3 bytes, as U+FFFD). Every BPE token covers
 * at least one byte, so this is the table-free upper bound on tokens shared by the metering proxy's estimate
 * (adapters/proxy/token-bound.ts) and the LibreChat gate's (librechat-plugin prompt-bound.ts).
 */
export function utf8Bytes(s: string, from = 0, to = s.length): number {
  let b = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) b += 1;
    else if (c < 0x800) b += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < to && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      b += 4;
      i++;
    } else b += 3;
  }
  return b;
}
