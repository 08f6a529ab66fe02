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

/**
 * CPU ms of `pid` by thread name (/proc/<pid>/task/<tid>/comm: "node" is the main thread, "V8 DefaultWorke" V8's
 * GC and compiler helpers, "libuv-worker" the thread pool, ...): says which thread an idle process spends on.
 */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(name, (out.get(name) ?? 0) + ns / 1e6);
    } catch {
      /* the thread ended between readdir and read */
    }
  }
  return out;
}

/** "main 1.20, V8 DefaultWorke 0.40": ms per `units` between two threadCpuMs readings, largest first. */
export function threadsPerUnit(before: Map<string, number>, after: Map<string, number>, units: number): string {
  return [...after]
    .map(([name, ms]) => [name, (ms - (before.get(name) ?? 0)) / units] as const)
    .filter(([, ms]) => ms > 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ');
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

/**
 * System calls the main thread of `pid` makes while `work` runs (strace -c; null when strace is missing or cannot
 * attach). Deterministic where CPU time is not: a socket write is a write however loaded the box is. strace slows
 * every call down, so this runs on work of its own, never inside a timed phase.
 */
export async function syscallsDuring(pid: number, work: () => Promise<unknown>): Promise<Map<string, number> | null> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'solaris-strace-'));
  const out = join(dir, 'summary');
  try {
    const tracer = spawn('strace', ['-c', '-p', String(pid), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    const attached = await new Promise<boolean>((resolve) => {
      let err = '';
      tracer.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/attached/i.test(err)) resolve(true);
      });
      tracer.once('error', () => resolve(false));
      tracer.once('exit', () => resolve(false));
      setTimeout(() => resolve(false), 3_000);
    });
    if (!attached) {
      tracer.kill('SIGKILL');
      return null;
    }
    await work();
    const exited = new Promise((r) => tracer.once('exit', r));
    tracer.kill('SIGINT');
    await exited;
    const calls = new Map<string, number>();
    // "% time  seconds  usecs/call  calls  errors syscall": errors may be blank.
    for (const m of readFileSync(out, 'utf8').matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/gm)) {
      if (m[2] !== 'total') calls.set(m[2]!, Number(m[1]));
    }
    return calls;
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
