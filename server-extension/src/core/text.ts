/**
 * Well-formed UTF-16 (no lone surrogates). Node 20 has String.prototype.isWellFormed / toWellFormed; the
 * project's TypeScript lib (ES2023) does not declare them yet.
 */
type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };

export const isWellFormed = (s: string): boolean => (s as WellFormedString).isWellFormed();

/** Lone surrogates become U+FFFD, as a UTF-8 encoding of the string does. */
export const toWellFormed = (s: string): string => (s as WellFormedString).toWellFormed();
