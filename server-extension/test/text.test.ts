import fc from 'fast-check';
import { utf8Bytes } from '../src/index';

// Any code points, with lone surrogates mixed in (a slice can also cut a pair in two).
const texts = fc
  .array(fc.oneof(fc.string({ unit: 'binary' }), fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))))
  .map((parts) => parts.join(''));

describe('utf8Bytes (the table-free token bound shared by the proxy and the LibreChat gate)', () => {
  it('equals the UTF-8 encoding length of any string and any slice of it, lone surrogates as U+FFFD', () => {
    fc.assert(
      fc.property(texts, fc.nat(), fc.nat(), (s, a, b) => {
        expect(utf8Bytes(s)).toBe(Buffer.byteLength(s, 'utf8'));
        const [from, to] = [Math.min(a, b) % (s.length + 1), Math.max(a, b) % (s.length + 1)];
        const lo = Math.min(from, to);
        const hi = Math.max(from, to);
        expect(utf8Bytes(s, lo, hi)).toBe(Buffer.byteLength(s.slice(lo, hi), 'utf8'));
      }),
      { numRuns: 2_000 },
    );
    expect(utf8Bytes('a\u00e9\u4e2d\ud83d\ude00\ud800')).toBe(1 + 2 + 3 + 4 + 3);
  });
});
