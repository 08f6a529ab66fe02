// Process and Redis readings the in-process benches share (the leading `_` keeps scripts/build.mjs from
// building it as an entry point).
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** CPU time of every thread of `pid` (main, libuv pool, V8 helpers), in ms, at nanosecond resolution. */
export function processCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended between readdir and read */
    }
  }
  return ns / 1e6;
}

export function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Calls per Redis command so far, without the INFO calls the bench makes to read them. */
export async function redisCalls(r: Redis): Promise<Map<string, number>> {
  const info = await r.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') calls.set(m[1]!, Number(m[2]));
  return calls;
}

export const totalCalls = (calls: Map<string, number>): number => [...calls.values()].reduce((a, b) => a + b, 0);

/** "evalsha 2.00, xadd 1.00, …": commands per unit of work between two snapshots, most frequent first. */
export function perUnit(before: Map<string, number>, after: Map<string, number>, units: number): string {
  return [...after]
    .map(([cmd, n]) => [cmd, (n - (before.get(cmd) ?? 0)) / units] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([cmd, n]) => `${cmd} ${n.toFixed(2)}`)
    .join(', ');
}

/** The kernel's CPU pressure (share of time some task waited for a CPU, last 10 s). */
export function cpuPressure(): string {
  try {
    return `${/avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? '?'}%`;
  } catch {
    return 'n/a';
  }
}
