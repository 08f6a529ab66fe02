/**
 * Test helpers: a real MongoDB-wire server (jongodb, or MONGO_URI), the LibreChat-shaped host started as a
 * child process with our preload, and LibreChat-shaped tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../server-extension/src/dev/free-port';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import jwt from 'jsonwebtoken';

export const ROOT = resolve(__dirname, '..', '..');
export const REGISTER = join(ROOT, 'librechat-plugin', 'register.cjs');
export const HOST_ENTRY = join(ROOT, 'librechat-plugin', 'test', 'fixtures', 'librechat-host', 'api', 'server', 'index.js');

export { freePort };

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, label: string): Promise<RegExpExecArray> {
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`${label}: no ${pattern} within ${timeoutMs} ms. Output:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${label} exited (${code}) before ${pattern}. Output:\n${out}`));
    });
  });
}

export interface Mongo {
  uri: string;
  stop(): void;
}

/** MONGO_URI when set (a real mongod), else an embedded jongodb on a free port. */
export async function startMongo(): Promise<Mongo> {
  if (process.env.MONGO_URI) return { uri: process.env.MONGO_URI, stop: () => undefined };
  const req = createRequire(join(ROOT, 'package.json'));
  const pkgDir = resolve(req.resolve('@jongodb/memory-server-bin-linux-x64-gnu/package.json'), '..');
  const port = await freePort();
  const child = spawn(join(pkgDir, 'bin', 'jongodb'), [`--host=127.0.0.1`, `--port=${port}`, '--database=test'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(child, /JONGODB_URI=(\S+)/, 15_000, 'jongodb');
  return { uri: m[1]!, stop: () => child.kill('SIGKILL') };
}

export interface Host {
  url: string;
  child: ChildProcess;
  /** Everything the host wrote to stdout + stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** A LibreChat-shaped host with our preload, in `cwd` (where its `.env` lives, read by its dotenv). */
export async function startHost(opts: { env: Record<string, string | undefined>; cwd: string; entry?: string; register?: string }): Promise<Host> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS') env[k] = v;
  delete env.JWT_SECRET;
  delete env.JWT_REFRESH_SECRET;
  for (const [k, v] of Object.entries(opts.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, ['--require', opts.register ?? REGISTER, opts.entry ?? HOST_ENTRY], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const m = await waitForLine(child, /HOST_LISTENING (\d+)/, 20_000, 'host');
  return {
    url: `http://127.0.0.1:${m[1]}`,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A temp folder holding the host's `.env` (LibreChat reads it with dotenv after our preload ran). */
export function hostCwd(vars: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'solaris-lc-'));
  writeFileSync(join(dir, '.env'), Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return dir;
}

/** LibreChat's access token: { id, username, provider, email } signed with JWT_SECRET (HS256). */
export function accessToken(secret: string, user: { id: string; email?: string }, expiresIn: number = 900): string {
  return jwt.sign({ id: user.id, username: user.email ?? 'u', provider: 'local', email: user.email ?? 'u@x.io' }, secret, { expiresIn });
}

/** LibreChat's refresh cookie value: { id, sessionId } signed with JWT_REFRESH_SECRET. */
export function refreshToken(secret: string, userId: string, sessionId: string): string {
  return jwt.sign({ id: userId, sessionId }, secret, { expiresIn: 3600 });
}

/** Browser-like headers (LibreChat's /api/agents routes run a user-agent parser). */
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
