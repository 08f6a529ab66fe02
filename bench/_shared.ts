// Helpers every benchmark uses (the leading `_` keeps scripts/build.mjs from building it as an entry point).
import { Redis } from 'ioredis';

/** A numeric option: `--name=value`, else the environment variable, else the default. */
export const arg = (name: string, env: string, def: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? process.env[env] ?? def);

/** The q-quantile (0..1) of the samples, nearest-rank; NaN when there are none. */
export function pct(samples: number[], q: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
}

/** A number with `digits` decimals, or an em dash when it is not finite. */
export const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');

/** Removes every key under `prefix` (the bench's own keys; never the whole Redis). */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const r = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
