/**
 * `npm run demo`: the whole product on one port, on a fresh machine with only Node.
 * - a page that looks like a minimal chat (clearly labelled demo) standing in for LibreChat, with the
 *   widget injected the way the LibreChat plugin does it;
 * - demo users (one admin, two users on different plans with small limits) who "log in" with a
 *   LibreChat-style `refreshToken` cookie, so the real authenticator, REST API and socket.io run unchanged;
 * - chat requests go through the real metering proxy to the fake upstream (LITELLM_URL unset) or LiteLLM;
 * - embedded Postgres when DATABASE_URL is unset (fresh temporary data unless SOLARIS_DATA_DIR is set).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import express from 'express';
import jwt from 'jsonwebtoken';
import { parse as parseCookie } from 'cookie';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/logger';
import { createSolarisRuntime } from '../runtime';
import { startFakeUpstream, type FakeUpstream } from '../dev/fake-upstream';
import { demoPage } from '../dev/demo-page';

interface DemoUser {
  userId: string;
  email: string;
  name: string;
  role: 'ADMIN' | 'USER';
  planId: string;
  description: string;
}

const PLANS = [
  { id: 'demo-basic', name: 'Básico (demo)', tokenLimit: 190, period: 'month' as const, isDefault: true },
  // The Pro plan weighs gpt-4o itself (×1.5, instead of the deployment's ×2): admins see it in the Plans tab.
  { id: 'demo-pro', name: 'Pro (demo)', tokenLimit: 1_200, period: 'week' as const, isDefault: false, modelWeights: { 'gpt-4o': 1.5 } },
  { id: 'demo-admin', name: 'Admin (demo)', tokenLimit: 1_000_000, period: 'month' as const, isDefault: false },
];

const USERS: DemoUser[] = [
  { userId: 'demo-ana', email: 'ana@demo.solaris', name: 'Ana', role: 'USER', planId: 'demo-basic', description: 'Plano Básico: 190 tokens/mês — 80% em ~5 mensagens, 100% logo depois' },
  { userId: 'demo-bruno', email: 'bruno@demo.solaris', name: 'Bruno', role: 'USER', planId: 'demo-pro', description: 'Plano Pro: 1.200 tokens/semana; gpt-4o pesa 1,5× (peso próprio do plano)' },
  { userId: 'demo-admin', email: 'admin@demo.solaris', name: 'Admin', role: 'ADMIN', planId: 'demo-admin', description: 'Administrador: aba de administração (⚙ ao lado do contador)' },
];

async function main() {
  const env = { ...process.env };
  let tempDir: string | null = null;
  if (!env.DATABASE_URL && !env.SOLARIS_DATA_DIR) {
    tempDir = mkdtempSync(join(tmpdir(), 'solaris-demo-'));
    env.SOLARIS_DATA_DIR = tempDir;
  }
  // Demo-only secrets when none are given: the cookie is minted and checked by this process alone.
  const refreshSecret = env.JWT_REFRESH_SECRET || randomBytes(32).toString('hex');
  const accessSecret = env.JWT_SECRET || randomBytes(32).toString('hex');
  env.SOLARIS_PROXY_KEY ||= randomBytes(24).toString('hex');
  env.SOLARIS_MODEL_WEIGHTS ||= '{"gpt-4o":2}';
  const config = loadConfig(env);
  const logger = createLogger({ service: 'solaris-demo', level: env.LOG_LEVEL ?? 'warn' });
  const port = Number(env.PORT ?? 3090);
  const host = env.HOST ?? '127.0.0.1';

  let upstream: FakeUpstream | null = null;
  if (!config.LITELLM_URL) upstream = await startFakeUpstream({ chunkDelayMs: 15, record: false });
  // Live "LibreChat sessions": logout really ends the session, like LibreChat's Session collection.
  const sessions = new Set<string>();
  // The same runtime as the standalone server (proxy, API, socket.io, webhook, health, metrics); only the
  // authenticator's secrets and sessions and the upstream are the demo's.
  const runtime = await createSolarisRuntime(config, {
    logger,
    migrate: true,
    upstreamUrl: upstream?.url ?? config.LITELLM_URL,
    auth: {
      secrets: () => ({ access: accessSecret, refresh: refreshSecret }),
      sessionChecker: async (userId, sessionId) => sessions.has(`${userId}:${sessionId}`),
      cacheTtlMs: 0,
    },
    drainTimeoutMs: 3_000, // stopDemo (e2e) kills after 5 s
  });
  const { engine } = runtime;
  const { authenticator } = await runtime.http();

  const actor = { id: 'demo-setup', email: null };
  for (const p of PLANS) await engine.admin.upsertPlan(p, actor);
  for (const u of USERS) {
    await engine.admin.touchUser({ userId: u.userId, email: u.email, name: u.name, role: u.role });
    await engine.admin.assignPlan({ userId: u.userId, planId: u.planId }, actor);
    if (!tempDir) await engine.admin.reset({ userId: u.userId, reason: 'demo start' }, actor);
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '256kb' }));
  const page = demoPage();
  const sendPage: express.RequestHandler = (_req, res) => {
    res.set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).send(page);
  };
  app.get(['/', '/login', '/c/:id'], sendPage);
  app.get('/demo/api/users', (_req, res) => {
    res.json({ users: USERS.map(({ userId, name, email, description }) => ({ userId, name, email, description })) });
  });
  app.post('/demo/api/login', (req, res) => {
    const user = USERS.find((u) => u.userId === req.body?.userId);
    if (!user) return void res.status(400).json({ error: { code: 'invalid_input', message: 'unknown demo user' } });
    const sessionId = randomUUID();
    sessions.add(`${user.userId}:${sessionId}`);
    const token = jwt.sign({ id: user.userId, sessionId }, refreshSecret, { expiresIn: '1d' });
    res.cookie('refreshToken', token, { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 86_400_000 });
    res.json({ user: { userId: user.userId, name: user.name, email: user.email } });
  });
  app.post('/demo/api/logout', (req, res) => {
    const raw = parseCookie(req.headers.cookie ?? '').refreshToken;
    const payload = raw ? (jwt.decode(raw) as { id?: string; sessionId?: string } | null) : null;
    if (payload?.id && payload.sessionId) sessions.delete(`${payload.id}:${payload.sessionId}`);
    res.clearCookie('refreshToken', { path: '/' }).json({ ok: true });
  });
  app.get('/demo/api/session', async (req, res) => {
    const p = await authenticator.authenticate(req.headers);
    if (!p) return void res.status(401).json({ error: { code: 'unauthorized', message: 'not logged in' } });
    res.json({ user: { userId: p.userId, name: p.name, email: p.email } });
  });
  // Plays LibreChat's backend: calls its custom endpoint (our metering proxy) as the logged-in user.
  app.post('/demo/api/chat', async (req, res) => {
    const p = await authenticator.authenticate(req.headers);
    if (!p) return void res.status(401).json({ error: { code: 'unauthorized', message: 'not logged in' } });
    const messages = Array.isArray(req.body?.messages) ? req.body.messages.slice(-8) : [];
    const model = req.body?.model === 'gpt-4o' ? 'gpt-4o' : 'gpt-4o-mini';
    const conversationId = typeof req.body?.conversationId === 'string' ? req.body.conversationId.slice(0, 64) : '';
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${config.SOLARIS_PROXY_KEY}`,
          'x-solaris-user-id': p.userId,
          'x-solaris-user-email': p.email ?? '',
          'x-solaris-conversation-id': conversationId,
        },
        // max_tokens is small and the fake answers ~20 tokens: the last request may overshoot 100 %, as in real life.
        body: JSON.stringify({ model, messages, max_tokens: 8, user: p.userId }),
      });
      const body = (await r.json()) as { choices?: Array<{ message?: { content?: string } }>; usage?: unknown };
      if (!r.ok) return void res.status(r.status).json(body);
      res.json({ reply: body.choices?.[0]?.message?.content ?? '', usage: body.usage ?? null });
    } catch (e) {
      logger.error('demo chat failed', { error: e instanceof Error ? e.message : String(e) });
      res.status(502).json({ error: { code: 'upstream_error', message: 'Falha ao falar com o modelo' } });
    }
  });

  await runtime.listen({ port, host, fallback: (req, res) => app(req, res) });
  const url = `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
  console.log(`\nSolaris Token Control — demo\n  open ${url}  (users: Ana, Bruno, Admin)\n  upstream: ${upstream ? 'fake model (LITELLM_URL unset)' : config.LITELLM_URL}\n  database: ${config.DATABASE_URL ? 'DATABASE_URL' : `embedded (${env.SOLARIS_DATA_DIR})`}\n`);
  console.log(`DEMO_READY ${url}`);

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await runtime.shutdown();
    await upstream?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
