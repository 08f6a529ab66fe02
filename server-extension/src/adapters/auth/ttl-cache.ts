/**
 * A tiny bounded read-through cache with a time-to-live. Per process on purpose: it only shortens how often we
 * ask LibreChat's database about the same user within a few seconds. Concurrent misses share one lookup.
 */
export class TtlCache<V> {
  private readonly map = new Map<string, { value: Promise<V>; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const t = this.now();
    const hit = this.map.get(key);
    if (hit && hit.expiresAt > t) return hit.value;
    if (hit) this.map.delete(key);
    const value = load();
    this.map.set(key, { value, expiresAt: t + this.ttlMs });
    // A failed lookup is not cached: the next call retries.
    value.catch(() => {
      if (this.map.get(key)?.value === value) this.map.delete(key);
    });
    if (this.map.size > this.maxEntries) {
      // Map keeps insertion order: drop the oldest entry.
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    return value;
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
