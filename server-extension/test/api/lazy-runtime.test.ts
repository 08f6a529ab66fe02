/**
 * The runtime built `lazy` (the LibreChat plugin's): its HTTP side (REST API, widget, socket.io, proxy) loads at
 * the first request that needs it, on the host's own server. Until a widget connects to this process, its engine
 * events still reach the widgets connected to the other replicas (through Redis, realtime-emitter.ts); once one
 * connects, by polling or straight by websocket, socket.io takes over with the same rooms and the same checks.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { BalanceDTO } from '@solaris/wire';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { createLogger } from '../../src/core/logger';
import { createSolarisRuntime, type SolarisRuntime } from '../../src/runtime';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { events, openSocket, type Client } from '../helpers/sockets';
import { ADMIN, ALICE, BOB, SECRETS, USERS, bearer, cookie, settle, startServer, type RunningServer } from './helpers';


let te: TestEngine;
let other: RunningServer; // a replica with socket.io attached, as before
const clients: Client[] = [];
const hosts: Array<{ rt: SolarisRuntime; engine: EngineRuntime; server: Server }> = [];
let prefix: string;

const open = (url: string, headers: Record<string, string>, transports?: Array<'polling' | 'websocket'>) => openSocket(clients, url, headers, transports);

/** A LibreChat-like host: its own request handler gives /solaris/* to the runtime; the runtime is attached lazily. */
async function lazyHost(): Promise<{ rt: SolarisRuntime; engine: EngineRuntime; server: Server; url: string; listener: unknown }> {
  const engine = await createEngine({ config: te.config, db: te.testDb, redis: te.testRedis, clock: te.clock, migrate: false });
  const logger = createLogger({ level: 'error', stream: new PassThrough().resume() });
  const rt = await createSolarisRuntime(te.config, {
    logger,
    engine,
    lazy: true,
    mount: '/solaris',
    channelPrefix: prefix,
    auth: { secrets: () => SECRETS, userDirectory: async (id) => USERS[id] ?? null, sessionChecker: async () => true, cacheTtlMs: 0 },
  });
  const server = createServer((req, res) => {
    if ((req.url ?? '').toLowerCase().startsWith('/solaris')) return rt.handle(req, res);
    res.writeHead(200).end('host');
  });
  rt.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hosts.push({ rt, engine, server });
  return { rt, engine, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, listener: server.listeners('request')[0] };
}

beforeAll(async () => {
  te = await createTestEngine({ store: 'redis' });
  await te.engine.admin.upsertPlan({ id: 'small', name: 'Small', tokenLimit: 100_000, period: 'month', isDefault: true }, { id: 'setup' });
  prefix = `${te.testRedis!.testPrefix}io`;
  other = await startServer(te, { realtime: true, server: { realtime: { channelPrefix: prefix } } });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const h of hosts) {
    await h.rt.shutdown();
    h.server.closeAllConnections();
    await new Promise<void>((r) => h.server.close(() => r()));
    await h.engine.close();
  }
  await other?.close();
  await te?.cleanup();
});

describe('lazy runtime (inside LibreChat)', () => {
  it('before any socket: socket.io is not attached, yet a chat’s events reach the other replica’s sockets (owner, admins)', async () => {
    const h = await lazyHost();
    const alice = await open(other.url, cookie(ALICE));
    const bob = await open(other.url, cookie(BOB));
    const admin = await open(other.url, cookie(ADMIN));
    await vi.waitFor(() => expect(events(admin, 'balance')).toHaveLength(1));
    for (const c of [alice, bob, admin]) c.got.length = 0;

    await settle({ ...te, engine: h.engine.engine }, ALICE, { promptTokens: 30, completionTokens: 12, requestId: 'lazy-1' });
    await vi.waitFor(() => {
      expect(events(alice, 'ledger')).toEqual([expect.objectContaining({ requestId: 'lazy-1' })]);
      expect(events(alice, 'balance')).toEqual([expect.objectContaining({ userId: ALICE, used: 42 })]);
      expect(events(admin, 'usage_batch').flat()).toEqual([expect.objectContaining({ userId: ALICE, email: 'alice@example.com' })]);
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(bob.got).toEqual([]);
    expect(events(alice, 'usage_batch')).toEqual([]);
    // Health answers without the HTTP side; the host's own request listener is still the only one (engine.io's
    // attach would have replaced it with its wrapper).
    expect((await fetch(`${h.url}/solaris/healthz`)).status).toBe(200);
    expect(h.server.listeners('request')).toEqual([h.listener]);
  });

  it('the first widget connects by polling: socket.io attaches then, with the handshake check and the rooms', async () => {
    const h = await lazyHost();
    await expect(open(h.url, {})).rejects.toThrow(); // no credentials: refused, as before
    const alice = await open(h.url, cookie(ALICE));
    const admin = await open(h.url, bearer(ADMIN));
    expect(h.server.listeners('request')).not.toEqual([h.listener]);
    await vi.waitFor(() => expect((events(alice, 'balance')[0] as BalanceDTO)?.userId).toBe(ALICE));
    alice.got.length = 0;
    // A chat served by another replica reaches this process's sockets through the adapter.
    await settle(te, ALICE, { promptTokens: 5, completionTokens: 5, requestId: 'lazy-2' });
    await vi.waitFor(() => expect(events(alice, 'ledger')).toEqual([expect.objectContaining({ requestId: 'lazy-2' })]));
    // A chat served here: through socket.io now, once (the feed switched sinks, it did not add one).
    await settle({ ...te, engine: h.engine.engine }, ALICE, { promptTokens: 5, completionTokens: 5, requestId: 'lazy-3' });
    await vi.waitFor(() => expect(events(admin, 'usage_batch').flat()).toContainEqual(expect.objectContaining({ entry: expect.objectContaining({ requestId: 'lazy-3' }) })));
    await new Promise((r) => setTimeout(r, 150));
    expect(events(alice, 'ledger').map((e) => (e as { requestId: string }).requestId)).toEqual(['lazy-2', 'lazy-3']);
    expect(events(alice, 'usage_batch')).toEqual([]);
    // The REST API loaded with it, under the same checks: admin routes for admins only.
    expect((await fetch(`${h.url}/solaris/api/admin/users`, { headers: bearer(ALICE) })).status).toBe(403);
    expect((await fetch(`${h.url}/solaris/api/admin/users`, { headers: bearer(ADMIN) })).status).toBe(200);
  });

  it('the first widget connects straight by websocket (an upgrade on the host server)', async () => {
    const h = await lazyHost();
    const alice = await open(h.url, cookie(ALICE), ['websocket']);
    await vi.waitFor(() => expect((events(alice, 'balance')[0] as BalanceDTO)?.userId).toBe(ALICE));
    const second = await open(h.url, cookie(ALICE), ['websocket']); // now engine.io's own upgrade listener
    await vi.waitFor(() => expect(events(second, 'balance')).toHaveLength(1));
    await expect(open(h.url, { cookie: 'refreshToken=forged' }, ['websocket'])).rejects.toThrow();
  });

  it('the REST API loads on its first request; shutdown closes the sockets it opened', async () => {
    const h = await lazyHost();
    const me = await fetch(`${h.url}/solaris/api/me`, { headers: bearer(BOB) });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ userId: BOB });
    expect(h.server.listeners('request')).toEqual([h.listener]); // the API alone does not attach socket.io
    const bob = await open(h.url, cookie(BOB)); // polling first, after the REST API loaded: socket.io, not a REST 404
    await vi.waitFor(() => expect(events(bob, 'balance')).toHaveLength(1));
    const closed = new Promise<string>((r) => bob.on('disconnect', (reason) => r(reason)));
    await h.rt.shutdown();
    expect(['io server disconnect', 'transport close']).toContain(await closed); // closed by us, not left open
    expect(bob.connected).toBe(false);
  });
});
