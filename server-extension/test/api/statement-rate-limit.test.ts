/**
 * The statement page takes its rate-limit point alongside its queries instead of before them (router.ts,
 * ApiRateLimit.alongside). These check that it is still the same limit: the same shared budget as every other
 * route, counted once per request, the same 429, and that a caller known to be over the limit costs no queries.
 */
import { API_PREFIX, ApiRoutes, type ApiErrorDTO } from '@solaris/wire';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { flushPrefix } from '../helpers/infra';
import { ALICE, BOB, bearer, settle, startServer, type RunningServer } from './helpers';

const POINTS = 5;
let te: TestEngine;
let srv: RunningServer;
let statementCalls = 0;

beforeAll(async () => {
  te = await createTestEngine({ store: 'redis' });
  await settle(te, ALICE, { requestId: 'rl-a-1' });
  // Counts the statement queries the route starts (the engine itself is real; only the calls are counted).
  const statementJson = te.engine.statementJson.bind(te.engine);
  te.engine.statementJson = (userId, query) => {
    statementCalls++;
    return statementJson(userId, query);
  };
});
beforeEach(async () => {
  await flushPrefix(te.testRedis!); // a fresh window per test (the counters rebuild from Postgres)
  srv = await startServer(te, { server: { rateLimits: { api: { points: POINTS, duration: 60 } } } });
  statementCalls = 0;
});
afterEach(() => srv?.close());
afterAll(() => te?.cleanup());

const get = async (route: string, userId = ALICE) => {
  const res = await fetch(`${srv.url}${API_PREFIX}${route}`, { headers: bearer(userId) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as unknown };
};
const code = (json: unknown) => (json as ApiErrorDTO).error?.code;

describe('statement page under the API rate limit', () => {
  it(`answers ${POINTS} pages, then 429 rate_limited with Retry-After; other users unaffected`, async () => {
    for (let i = 0; i < POINTS; i++) expect((await get(ApiRoutes.statement)).status).toBe(200);
    const over = await get(ApiRoutes.statement);
    expect([over.status, code(over.json)]).toEqual([429, 'rate_limited']);
    expect(Number(over.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await get(ApiRoutes.balance)).status).toBe(429); // one budget for the whole API
    expect((await get(ApiRoutes.statement, BOB)).status).toBe(200);
  });

  it('shares the budget with the other routes and counts each request once (also with a trailing slash)', async () => {
    expect((await get(ApiRoutes.balance)).status).toBe(200);
    expect((await get(ApiRoutes.me)).status).toBe(200);
    // '/statement/' reaches the same handler through the router-level limiter: it must not take a second point.
    expect((await get(ApiRoutes.statement + '/')).status).toBe(200);
    expect((await get(ApiRoutes.statement)).status).toBe(200);
    expect((await get(ApiRoutes.statement)).status).toBe(200);
    expect((await get(ApiRoutes.statement)).status).toBe(429);
  });

  it('a caller known to be over the limit is refused before any query; the refusal wins over a bad query', async () => {
    for (let i = 0; i < POINTS; i++) expect((await get(ApiRoutes.statement)).status).toBe(200);
    expect(statementCalls).toBe(POINTS);
    expect((await get(ApiRoutes.statement)).status).toBe(429); // finds out: its queries ran alongside
    const ranForTheFirstRefusal = statementCalls - POINTS;
    expect(ranForTheFirstRefusal).toBeLessThanOrEqual(1);
    for (let i = 0; i < 3; i++) expect((await get(ApiRoutes.statement)).status).toBe(429);
    expect(statementCalls).toBe(POINTS + ranForTheFirstRefusal);
    const bad = await get(`${ApiRoutes.statement}?limit=nope`);
    expect([bad.status, code(bad.json)]).toEqual([429, 'rate_limited']);
  });

  it('a bad query inside the budget is still a 400 (the point is taken, as before)', async () => {
    const bad = await get(`${ApiRoutes.statement}?limit=nope`);
    expect([bad.status, code(bad.json)]).toEqual([400, 'invalid_input']);
    for (let i = 1; i < POINTS; i++) expect((await get(ApiRoutes.statement)).status).toBe(200);
    expect((await get(ApiRoutes.statement)).status).toBe(429);
  });
});
