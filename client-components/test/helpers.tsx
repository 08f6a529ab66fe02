import { act, render, type RenderResult } from '@testing-library/react';
import { QueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { API_PREFIX, type BalanceDTO, type StatementUsageDTO, type QuotaRequestDTO, type ServerToClientEvents } from '@solaris/wire';
import { SolarisProvider, type SolarisProviderProps } from '../src/provider';
import type { SolarisSocket } from '../src/socket';
import type { FetchLike } from '../src/api/client';

const tick = () => new Promise((r) => setTimeout(r, 0));

type AnyFn = (...args: never[]) => void;

/** In-memory stand-in for a socket.io client: the test plays the server. */
export class FakeSocket implements SolarisSocket {
  connected = true;
  private handlers = new Map<string, Set<AnyFn>>();
  on(event: string, fn: AnyFn) {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }
  off(event: string, fn?: AnyFn) {
    if (fn) this.handlers.get(event)?.delete(fn);
    else this.handlers.delete(event);
    return this;
  }
  connect() {
    this.connected = true;
    this.fire('connect');
    return this;
  }
  disconnect() {
    this.connected = false;
    this.fire('disconnect');
    return this;
  }
  listenerCount(event: string) {
    return this.handlers.get(event)?.size ?? 0;
  }
  private fire(event: string, ...args: unknown[]) {
    for (const fn of this.handlers.get(event) ?? []) (fn as (...a: unknown[]) => void)(...args);
  }
  /** Server → client event, inside act() so React flushes. */
  async emit<E extends keyof ServerToClientEvents>(event: E, payload: Parameters<ServerToClientEvents[E]>[0]) {
    await act(async () => {
      this.fire(event, payload);
      await tick(); // react-query notifies observers on the next macrotask
    });
  }
  async drop() {
    await act(async () => {
      this.connected = false;
      this.fire('disconnect', 'transport close');
      await tick();
    });
  }
  async restore() {
    await act(async () => {
      this.connect();
      await tick();
    });
  }
}

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}
type Reply = { status?: number; body: unknown } | unknown;
type Handler = (call: Call) => Reply | Promise<Reply>;

/**
 * fetch stub at the boundary: routes are `METHOD /path` under API_PREFIX (`:param` allowed), answers
 * are wire-shaped JSON. Unknown routes answer 404 with an ApiErrorDTO, like the server.
 */
export function fakeApi(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(' ') as [string, string];
    const re = new RegExp(`^${pattern.replace(/:[A-Za-z]+/g, '[^/]+').replace(/\./g, '\\.')}$`);
    return { method, re, handler };
  });
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input, 'http://localhost');
    const method = init?.method ?? 'GET';
    const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) : url.pathname;
    const call: Call = { method, path, query: url.searchParams, body: init?.body ? JSON.parse(String(init.body)) : undefined };
    calls.push(call);
    const route = table.find((r) => r.method === method && r.re.test(path));
    if (!route) return json(404, { error: { code: 'not_found', message: `no route ${method} ${path}` } });
    const reply = await route.handler(call);
    if (reply && typeof reply === 'object' && 'body' in reply) return json((reply as { status?: number }).status ?? 200, (reply as { body: unknown }).body);
    return json(200, reply);
  };
  return { fetch, calls };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export function balance(p: Partial<BalanceDTO> = {}): BalanceDTO {
  const limit = p.limit ?? 10_000;
  const granted = p.granted ?? 0;
  const used = p.used ?? 1_000;
  const reserved = p.reserved ?? 0;
  const percent = p.percent ?? Math.round(((used + reserved) / (limit + granted)) * 1000) / 10;
  return {
    userId: 'u1',
    planId: 'basic',
    periodKind: 'month',
    periodKey: '2026-11',
    periodStart: '2026-11-01T03:00:00.000Z',
    periodEnd: '2026-12-01T03:00:00.000Z',
    timeZone: 'America/Sao_Paulo',
    limit,
    granted,
    used,
    reserved,
    remaining: limit + granted - used - reserved,
    percent,
    state: percent >= 100 ? 'blocked' : percent >= 80 ? 'warning' : 'ok',
    thresholds: [80, 100],
    ...p,
  };
}

/** A quota request as the API returns it (pending, from Ana); override what a test is about. */
export function quotaRequest(p: Partial<QuotaRequestDTO> = {}): QuotaRequestDTO {
  return {
    id: '7',
    userId: 'u1',
    email: 'ana@ex.com',
    name: 'Ana',
    tokens: 3000,
    reason: 'relatório do mês',
    periodKey: '2026-11',
    status: 'pending',
    autoApproved: false,
    grantedTokens: null,
    grantExpiresAt: null,
    message: null,
    decidedBy: null,
    decidedAt: null,
    createdAt: '2026-11-20T13:00:00.000Z',
    ...p,
  };
}

export function entry(i: number, p: Partial<StatementUsageDTO> = {}): StatementUsageDTO {
  return {
    kind: 'usage',
    context: null,
    amount: -(150 + i),
    id: String(i),
    requestId: `req-${i}`,
    createdAt: new Date(Date.UTC(2026, 10, 20, 12, 0, i)).toISOString(),
    model: 'gpt-4o-mini',
    promptTokens: 100 + i,
    completionTokens: 50,
    totalTokens: 150 + i,
    weightedTokens: 150 + i,
    cost: 0.0012,
    source: 'proxy',
    estimated: false,
    conversationId: 'c1',
    messageId: null,
    periodKey: '2026-11',
    balanceAfter: 9000 - i,
    ...p,
  };
}

export function renderSolaris(ui: ReactNode, props: Partial<SolarisProviderProps> & { fetch: FetchLike }): RenderResult & { socket: FakeSocket } {
  const socket = (props.socket as FakeSocket | undefined) ?? new FakeSocket();
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  const result = render(
    <SolarisProvider locale="pt-BR" theme="light" styleTarget={null} queryClient={queryClient} {...props} socket={socket}>
      {ui}
    </SolarisProvider>,
  );
  return Object.assign(result, { socket });
}
