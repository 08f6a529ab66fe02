import type { BalanceDTO, QuotaRequestDTO } from '@solaris/wire';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { events, openSocket, type Client } from '../helpers/sockets';
import { createSolarisSocket } from '../../../client-components/src/socket';
import { ADMIN, ALICE, BOB, accessToken, cookie, settle, startServer, type RunningServer } from './helpers';


let te: TestEngine;
let replica: EngineRuntime; // a second "replica": own engine, same Postgres schema and Redis
let a: RunningServer;
let b: RunningServer;
const clients: Client[] = [];

const open = (url: string, headers: Record<string, string>, transports?: Array<'polling' | 'websocket'>) => openSocket(clients, url, headers, transports);
/** The admins' usage feed: `usage_batch` messages (one per window), flattened. */
const usage = (c: Client) => events(c, 'usage_batch').flat();

beforeAll(async () => {
  te = await createTestEngine({ store: 'redis' });
  await te.engine.admin.upsertPlan({ id: 'small', name: 'Small', tokenLimit: 1000, period: 'month', isDefault: true }, { id: 'setup' });
  replica = await createEngine({ config: te.config, db: te.testDb, redis: te.testRedis, clock: te.clock, migrate: false });
  const realtime = { channelPrefix: `${te.testRedis!.testPrefix}io` };
  a = await startServer(te, { realtime: true, server: { realtime } });
  b = await startServer({ ...te, engine: replica.engine }, { realtime: true, server: { realtime } });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await a?.close();
  await b?.close();
  await te?.cleanup();
});

describe('socket.io realtime', () => {
  it('refuses the handshake without a valid principal (no session is created)', async () => {
    await expect(open(a.url, {})).rejects.toThrow();
    await expect(open(a.url, { cookie: 'refreshToken=forged' })).rejects.toThrow();
    await expect(open(a.url, { authorization: `Bearer ${accessToken(ALICE, { expiresIn: -1 })}` }, ['websocket'])).rejects.toThrow();
    expect(a.solaris.app).toBeTruthy();
  });

  it('delivers each event to its owner only (across two replicas sharing Redis); admins get the usage feed', async () => {
    const aliceA = await open(a.url, cookie(ALICE));
    const aliceB = await open(b.url, cookie(ALICE), ['websocket']);
    const bob = await open(b.url, { authorization: `Bearer ${accessToken(BOB)}` });
    const admin = await open(a.url, cookie(ADMIN));
    // The current balance on connect.
    await vi.waitFor(() => {
      for (const [c, id] of [[aliceA, ALICE], [aliceB, ALICE], [bob, BOB], [admin, ADMIN]] as const) expect((events(c, 'balance')[0] as BalanceDTO)?.userId).toBe(id);
    });
    for (const c of clients) c.got.length = 0;

    // Settled on replica A's engine: Alice's sockets on A and on B both hear it, once each.
    await settle(te, ALICE, { promptTokens: 500, completionTokens: 350, requestId: 'rt-1' }); // 85 % of 1000
    await vi.waitFor(() => {
      for (const c of [aliceA, aliceB]) {
        expect(events(c, 'ledger')).toHaveLength(1);
        expect(events(c, 'balance')).toHaveLength(1);
        expect(events(c, 'threshold')).toEqual([expect.objectContaining({ userId: ALICE, threshold: 80 })]);
      }
      expect(usage(admin)).toEqual([expect.objectContaining({ userId: ALICE, email: 'alice@example.com', entry: expect.objectContaining({ requestId: 'rt-1' }) })]);
    });
    expect((events(aliceB, 'balance')[0] as BalanceDTO).used).toBe(850);

    // Settled on replica B's engine (Bob): Bob only.
    await settle({ ...te, engine: replica.engine }, BOB, { promptTokens: 10, completionTokens: 10, requestId: 'rt-2' });
    await vi.waitFor(() => expect(events(bob, 'ledger')).toHaveLength(1));
    // A refusal: `blocked` to Alice's sockets.
    const r = await te.engine.reserve({ userId: ALICE, requestId: 'rt-3', estimate: 500 });
    expect(r.ok).toBe(false);
    await vi.waitFor(() => expect(events(aliceB, 'blocked')).toEqual([expect.objectContaining({ userId: ALICE, reason: 'quota_exceeded' })]));
    await vi.waitFor(() => expect(usage(admin)).toHaveLength(2));

    await new Promise((res) => setTimeout(res, 150)); // let any stray cross-delivery arrive
    expect(bob.got.map(([e, p]) => [e, (p as { userId?: string }).userId])).toEqual([['ledger', undefined], ['balance', BOB]]);
    expect(usage(bob)).toEqual([]); // not an admin: never in the admins room
    for (const c of [aliceA, aliceB]) {
      expect(c.got.every(([e, p]) => e === 'ledger' || (p as { userId: string }).userId === ALICE)).toBe(true);
      expect(usage(c)).toEqual([]);
      expect(events(c, 'ledger')).toHaveLength(1);
    }
    // The admin's own room gets nothing of Alice's or Bob's beyond the usage feed.
    expect(admin.got.map(([e]) => e)).toEqual(['usage_batch', 'usage_batch']);
  });

  it('quota-request events: `request` to admins only, `request_decided` to the requester only', async () => {
    const admin = await open(a.url, cookie(ADMIN));
    const bob = await open(b.url, cookie(BOB));
    const alice = await open(a.url, cookie(ALICE));
    await vi.waitFor(() => expect(events(alice, 'balance')).toHaveLength(1));
    const request = { id: '1', userId: BOB, email: 'bob@example.com', tokens: 100, status: 'pending' } as unknown as QuotaRequestDTO;
    const balance = await te.engine.balance(BOB);
    te.engine.events.emit('request', { request, pendingCount: 1 });
    te.engine.events.emit('request_decided', { request: { ...request, status: 'approved' }, balance, message: 'Aprovado' });
    await vi.waitFor(() => {
      expect(events(admin, 'request')).toEqual([{ request, pendingCount: 1 }]);
      expect(events(bob, 'request_decided')).toEqual([expect.objectContaining({ message: 'Aprovado' })]);
    });
    await new Promise((res) => setTimeout(res, 100));
    expect(events(bob, 'request')).toEqual([]);
    expect(events(alice, 'request')).toEqual([]);
    expect(events(alice, 'request_decided')).toEqual([]);
    expect(events(admin, 'request_decided')).toEqual([]);
  });

  it('credentials are checked again while connected: logout and token expiry end the feed, others keep it', async () => {
    const c = await startServer(te, { realtime: true, server: { realtime: { channelPrefix: `${te.testRedis!.testPrefix}io2`, recheckMs: 150 } } });
    try {
      const alice = await open(c.url, cookie(ALICE));
      const bob = await open(c.url, cookie(BOB));
      const shortLived = await open(c.url, { authorization: `Bearer ${accessToken(BOB, { expiresIn: 2 })}` });
      const reasons = new Map<Client, string>();
      for (const s of [alice, bob, shortLived]) s.on('disconnect', (r) => reasons.set(s, r));
      c.deadSessions.add('sess-' + ALICE.slice(-4)); // Alice logs out in LibreChat
      await vi.waitFor(() => expect(reasons.get(alice)).toBe('io server disconnect'), { timeout: 3_000 });
      expect(bob.connected).toBe(true);
      await vi.waitFor(() => expect(reasons.get(shortLived)).toBe('io server disconnect'), { timeout: 5_000 });
      expect(bob.connected).toBe(true);
      // A logged-out user cannot come back: the handshake is refused.
      await expect(open(c.url, cookie(ALICE))).rejects.toThrow();

      // The widget's socket comes back by itself once its credentials are good again (a refreshed session).
      const widget = createSolarisSocket({ url: c.url, extraHeaders: cookie(BOB), reconnectAfterServerDisconnectMs: 50 });
      let connects = 0;
      widget.on('connect', () => connects++);
      await vi.waitFor(() => expect(connects).toBe(1));
      const bobSession = 'sess-' + BOB.slice(-4);
      c.deadSessions.add(bobSession);
      await vi.waitFor(() => expect(widget.connected).toBe(false), { timeout: 3_000 });
      c.deadSessions.delete(bobSession);
      await vi.waitFor(() => expect(connects).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
      expect(widget.connected).toBe(true);
      widget.disconnect();
    } finally {
      await c.close();
    }
  });

  it('close() disconnects sockets promptly so the host can shut down', async () => {
    const s = await startServer(te, { realtime: true, server: { realtime: { channelPrefix: `${te.testRedis!.testPrefix}io2` } } });
    const c = await open(s.url, cookie(BOB), ['websocket']);
    const disconnected = new Promise((r) => c.on('disconnect', r));
    const t0 = Date.now();
    await s.close();
    await disconnected;
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
