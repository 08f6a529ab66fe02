/** Weighted tokens and cost (core/pricing.ts): the charge a settlement carries into the ledger and the counter. */
import { Pricing } from '../src/core/pricing';

describe('Pricing', () => {
  const p = new Pricing({ 'gpt-4o-mini': 0.5, 'gpt-4o*': 1.1, 'claude-*': 3 }, { 'gpt-4o*': { prompt: 2.5, completion: 10 } });

  it('weights: exact key first, then the first glob, else 1; case-insensitive', () => {
    expect(p.weight('gpt-4o-mini')).toBe(0.5);
    expect(p.weight('gpt-4o-2024-08-06')).toBe(1.1);
    expect(p.weight('CLAUDE-3-opus')).toBe(3);
    expect(p.weight('llama3')).toBe(1);
  });

  it('charges ceil(tokens × weight) without floating-point crumbs', () => {
    // In doubles 100 × 1.1 = 110.00000000000001 and 50 × 1.1 = 55.00000000000001: exactly 110 and 55.
    expect(p.weighted('gpt-4o', 100)).toBe(110);
    expect(p.weighted('gpt-4o', 50)).toBe(55);
    for (let t = 0; t <= 5_000; t++) expect(p.weighted('gpt-4o', t)).toBe(Math.ceil((t * 11) / 10));
    // A real fraction still rounds up: a weight never lets a request round down to nothing.
    expect(p.weighted('gpt-4o-mini', 3)).toBe(2);
    expect(p.weighted('gpt-4o-mini', 1)).toBe(1);
    expect(p.weighted('gpt-4o', 1)).toBe(2);
    expect(p.weighted('llama3', 0)).toBe(0);
  });

  it('cost: the upstream-reported cost wins, else the price table, else 0', () => {
    expect(p.cost('gpt-4o', 1_000_000, 0, 0.42)).toBe(0.42);
    expect(p.cost('gpt-4o', 1_000_000, 100_000, null)).toBeCloseTo(3.5, 10);
    expect(p.cost('llama3', 1_000, 1_000)).toBe(0);
    expect(p.cost('gpt-4o', 10, 10, -1)).toBeCloseTo((10 * 2.5 + 10 * 10) / 1e6, 12); // a negative report is ignored
  });
});
