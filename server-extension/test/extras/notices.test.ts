/**
 * Notices that survive being offline (issue #18): an approval with the admin's message, a denial, a grant and a
 * reset made while the user is away are kept server side and listed at the next visit until seen.
 * Real Postgres; the REST routes are exercised in client-components' browser test and by these functions.
 */
import { QuotaRequests } from '../../src/core/quota-requests';
import { listUnseenNotices, markNoticesSeen } from '../../src/core/notices';
import { createTestEngine, type TestEngine } from '../helpers/engine';

const ADMIN = { id: 'admin-1', email: 'admin@example.com' };

describe('notices kept until seen', () => {
  let t: TestEngine;
  let requests: QuotaRequests;
  beforeAll(async () => {
    t = await createTestEngine({ store: 'postgres' });
    requests = new QuotaRequests(t.engine);
  });
  afterAll(async () => t?.cleanup());

  it('an approval made while the user is offline is listed at the next visit, with the admin\'s message, once', async () => {
    const u = 'offline-user';
    const live: unknown[] = [];
    t.engine.events.on('request_decided', (e) => live.push(e)); // nobody is connected: the push reaches no one
    const req = await requests.open(u, { tokens: 500, reason: 'projeto' });
    await requests.approve(req.id, { tokens: 400, message: 'Bom trabalho' }, ADMIN);
    const list = await listUnseenNotices(t.db.pool, u);
    expect(list).toHaveLength(1); // the grant behind the approval is not a second notice
    expect(list[0]).toMatchObject({ kind: 'request_decided', request: { id: req.id, status: 'approved', grantedTokens: 400, message: 'Bom trabalho' } });
    expect(list[0]!.message).toMatch(/400/);
    expect(live).toEqual([expect.objectContaining({ noticeId: list[0]!.id })]);
    // Another user cannot mark it seen; the owner can, and then it is gone.
    expect(await markNoticesSeen(t.db.pool, 'someone-else', [list[0]!.id])).toBe(0);
    expect(await listUnseenNotices(t.db.pool, u)).toHaveLength(1);
    expect(await markNoticesSeen(t.db.pool, u, [list[0]!.id])).toBe(1);
    expect(await listUnseenNotices(t.db.pool, u)).toEqual([]);
  });

  it('a denial, a grant and a reset are kept in order until seen', async () => {
    const u = 'away-user';
    const req = await requests.open(u, { tokens: 300 });
    await requests.deny(req.id, { message: 'Sem orçamento' }, ADMIN);
    await t.engine.admin.grant({ userId: u, tokens: 1000, reason: 'bônus' }, ADMIN);
    await t.engine.admin.reset({ userId: u, reason: 'suporte' }, ADMIN);
    const list = await listUnseenNotices(t.db.pool, u);
    expect(list.map((n) => n.kind)).toEqual(['request_decided', 'grant', 'reset']);
    expect(list[0]!.request).toMatchObject({ status: 'denied', message: 'Sem orçamento' });
    expect(list[1]).toMatchObject({ tokens: 1000, reason: 'bônus', message: 'Você recebeu 1.000 tokens adicionais. Motivo: bônus' });
    expect(list[2]).toMatchObject({ reason: 'suporte', message: 'Seu uso de tokens foi zerado pelo administrador. Motivo: suporte' });
    await markNoticesSeen(t.db.pool, u, list.map((n) => n.id));
    expect(await listUnseenNotices(t.db.pool, u)).toEqual([]);
  });
});
