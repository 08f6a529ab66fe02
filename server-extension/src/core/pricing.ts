import picomatch from 'picomatch';

/** Glob table lookup: exact key first, then the first glob (in insertion order) that matches. */
export class GlobTable<T> {
  private readonly matchers: Array<{ test: (s: string) => boolean; value: T }>;
  constructor(private readonly table: Record<string, T>) {
    this.matchers = Object.entries(table).map(([pattern, value]) => ({
      test: picomatch(pattern, { nocase: true, dot: true, contains: false }),
      value,
    }));
  }
  get(key: string): T | undefined {
    if (Object.prototype.hasOwnProperty.call(this.table, key)) return this.table[key];
    return this.matchers.find((m) => m.test(key))?.value;
  }
}

export interface Price {
  prompt: number; // USD per 1M tokens
  completion: number;
}

/** Model weights (token multipliers) and the fallback price table. */
export class Pricing {
  private readonly weights: GlobTable<number>;
  private readonly prices: GlobTable<Price>;
  constructor(weights: Record<string, number>, prices: Record<string, Price>) {
    this.weights = new GlobTable(weights);
    this.prices = new GlobTable(prices);
  }

  weight(model: string): number {
    return this.weights.get(model) ?? 1;
  }

  /**
   * Weighted tokens charged: ceil(tokens × weight), so a weight never rounds a request down to zero. The
   * product is first rounded to 6 decimals: in doubles 100 × 1.1 is 110.00000000000001, and a bare ceil
   * charged 111 for what is exactly 110. `planWeight`: the user's plan's own weight for the model, which beats
   * the deployment table (core/plan-weights.ts).
   */
  weighted(model: string, tokens: number, planWeight?: number): number {
    return Math.ceil(Math.round(tokens * (planWeight ?? this.weight(model)) * 1e6) / 1e6);
  }

  /** The upstream's reported cost when it gave one, else the price table, else 0. */
  cost(model: string, promptTokens: number, completionTokens: number, reported?: number | null): number {
    if (reported != null && Number.isFinite(reported) && reported >= 0) return reported;
    const p = this.prices.get(model);
    if (!p) return 0;
    return (promptTokens * p.prompt + completionTokens * p.completion) / 1_000_000;
  }
}
