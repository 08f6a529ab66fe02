/**
 * A real LibreChat v0.8.7 from the kit (start/stop) and a client for its own API: register, login, logout,
 * chat + stream (the calls its web client makes; see shared/librechat-host/README.md).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** JSON as the lane reads it: LibreChat's and our answers, checked field by field by the lane's assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

export interface LibreChat {
  url: string;
  pid: number;
  stateDir: string;
  log(): string;
  stop(): void;
}

export function startLibreChat(kit: string, o: { port: number; mongoPort: number; config: string; envFile: string }): LibreChat {
  const stateDir = mkdtempSync(join(tmpdir(), 'solaris-lane-state-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LANG: process.env.LANG };
  const r = spawnSync(
    join(kit, 'start'),
    ['--port', String(o.port), '--mongo-port', String(o.mongoPort), '--config', o.config, '--env-file', o.envFile, '--state-dir', stateDir, '--timeout', '150'],
    { encoding: 'utf8', env, timeout: 180_000 },
  );
  if (r.status !== 0) throw new Error(`LibreChat did not start (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const vars = Object.fromEntries(r.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const logFile = vars.LIBRECHAT_LOG ?? join(stateDir, 'librechat.log');
  return {
    url: vars.LIBRECHAT_URL!,
    pid: Number(vars.LIBRECHAT_PID),
    stateDir,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop: () => void spawnSync(join(kit, 'stop'), [stateDir], { encoding: 'utf8', timeout: 30_000 }),
  };
}

export interface Session {
  token: string;
  /** `refreshToken=…; token_provider=librechat` as the browser sends it. */
  cookie: string;
  user: { id: string; email: string; role: string; name: string };
  email: string;
  password: string;
}

function cookiesOf(r: Response): string {
  return r.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((c) => !c.endsWith('='))
    .join('; ');
}

export class LibreChatClient {
  constructor(readonly base: string) {}

  async register(name: string, email: string, password: string): Promise<void> {
    const r = await fetch(`${this.base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': BROWSER_UA },
      body: JSON.stringify({ name, username: name.toLowerCase().replace(/\W/g, ''), email, password, confirm_password: password }),
    });
    if (r.status !== 200) throw new Error(`register ${email}: ${r.status} ${await r.text()}`);
  }

  async login(email: string, password: string): Promise<Session> {
    const r = await fetch(`${this.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': BROWSER_UA },
      body: JSON.stringify({ email, password }),
    });
    if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${await r.text()}`);
    const body = (await r.json()) as { token: string; user: { id: string; email: string; role: string; name: string } };
    return { token: body.token, cookie: cookiesOf(r), user: body.user, email, password };
  }

  async logout(s: Session): Promise<number> {
    const r = await fetch(`${this.base}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, cookie: s.cookie, 'user-agent': BROWSER_UA } });
    await r.text();
    return r.status;
  }

  /** GET/POST on our API with the access token (LibreChat's bearer), JSON in and out. */
  async solaris(s: Session | null, method: string, path: string, body?: unknown, cookie?: string): Promise<{ status: number; json: Loose; text: string }> {
    const headers: Record<string, string> = { 'user-agent': BROWSER_UA };
    if (s) headers.authorization = `Bearer ${s.token}`;
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${this.base}/solaris/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, json, text };
  }

  /**
   * One chat turn as LibreChat's web client sends it: POST /api/agents/chat/<endpoint>, then read the SSE stream
   * to its `final` event. Returns the POST's status/body when it is refused (e.g. our 402).
   */
  async chat(
    s: Session,
    endpoint: string,
    text: string,
    model = 'fake-model',
    convo?: { conversationId: string; parentMessageId: string },
  ): Promise<{ status: number; body: string; final?: Loose; events: Loose[] }> {
    const headers = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', 'user-agent': BROWSER_UA };
    const r = await fetch(`${this.base}/api/agents/chat/${encodeURIComponent(endpoint)}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        text,
        sender: 'User',
        isCreatedByUser: true,
        clientTimestamp: new Date().toISOString().slice(0, 19),
        parentMessageId: convo?.parentMessageId ?? '00000000-0000-0000-0000-000000000000',
        conversationId: convo?.conversationId ?? 'new',
        messageId: randomUUID(),
        error: false,
        endpoint,
        endpointType: 'custom',
        model,
        isTemporary: false,
        isRegenerate: false,
        isContinued: false,
        timezone: 'UTC',
      }),
    });
    const body = await r.text();
    if (r.status !== 200) return { status: r.status, body, events: [] };
    const { streamId } = JSON.parse(body) as { streamId: string };
    const sse = await fetch(`${this.base}/api/agents/chat/stream/${streamId}`, { headers: { ...headers, accept: 'text/event-stream' } });
    const raw = await sse.text();
    const events = raw
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => {
        try {
          return JSON.parse(l.slice(6));
        } catch {
          return l.slice(6);
        }
      });
    const final = events.find((e) => e && typeof e === 'object' && e.final === true);
    return { status: r.status, body, final, events };
  }
}
