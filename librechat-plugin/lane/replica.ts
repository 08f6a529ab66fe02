/**
 * A second LibreChat process of the same deployment (a replica): same LibreChat root, same environment as the
 * kit's first process (its recorded librechat.process-env: same Mongo, JWT secrets, Postgres, Redis, preload),
 * only another port. Started directly (not through the kit's `start`, which would start its own empty MongoDB).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Replica {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM; resolves with the exit code/signal and how long it took. */
  terminate(timeoutMs?: number): Promise<{ ms: number; code: number | null; signal: string | null }>;
}

/** The environment the kit started LibreChat with (STATE_DIR/librechat.process-env). */
export function readProcessEnv(stateDir: string): Record<string, string> {
  // `env -0` style or KEY=VALUE lines: accept both.
  const raw = readFileSync(join(stateDir, 'librechat.process-env'), 'utf8');
  const parts = raw.includes('\0') ? raw.split('\0') : raw.split('\n');
  const env: Record<string, string> = {};
  for (const p of parts) {
    const i = p.indexOf('=');
    if (i > 0) env[p.slice(0, i)] = p.slice(i + 1);
  }
  return env;
}

export async function startReplica(stateDir: string, root: string, port: number): Promise<Replica> {
  const env: Record<string, string> = { ...readProcessEnv(stateDir), PORT: String(port), DOMAIN_SERVER: `http://127.0.0.1:${port}`, DOMAIN_CLIENT: `http://127.0.0.1:${port}` };
  const node = join(env.PATH!.split(':')[0]!, 'node');
  const child = spawn(node, ['api/server/index.js'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`replica exited (${child.exitCode}):\n${out.slice(-3000)}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200).catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`replica not ready in 120 s:\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    child,
    output: () => out,
    terminate(timeoutMs = 15_000) {
      const started = Date.now();
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve({ ms: 0, code: child.exitCode, signal: child.signalCode });
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolve({ ms: Date.now() - started, code, signal });
        });
        child.kill('SIGTERM');
      });
    },
  };
}
