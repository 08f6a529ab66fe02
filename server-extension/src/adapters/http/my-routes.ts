import { ApiRoutes, type MeDTO } from '@solaris/wire';
import type { QuotaEngine } from '../../core/engine';
import type { ApiRateLimit } from './rate-limit';
import { ANSWERED, JsonText, route, type Route } from './route-table';
import { csvLabel, streamStatementCsv } from './statement-csv';
import * as v from './validation';

export interface MyRoutesDeps {
  engine: QuotaEngine;
  /** The deployment time zone (calendar dates in filters). */
  tz: string;
  /** The API limiter: the statement page takes its point alongside its queries. */
  apiLimiter: ApiRateLimit;
  formatDate: (iso: string) => string;
}

/** The caller's own balance, statement and usage: every route reads only the principal's id. */
export function myRoutes({ engine, tz, apiLimiter, formatDate }: MyRoutesDeps): Route[] {
  return [
    route({
      method: 'get',
      path: ApiRoutes.me,
      access: 'user',
      input: { query: v.noQuery },
      handler: async ({ principal: p }) =>
        ({ userId: p.userId, email: p.email, name: p.name, role: p.role, isAdmin: p.isAdmin, balance: await engine.balance(p.userId) }) satisfies MeDTO,
    }),
    route({ method: 'get', path: ApiRoutes.balance, access: 'user', input: { query: v.noQuery }, handler: ({ userId }) => engine.balance(userId) }),
    route({
      method: 'get',
      path: ApiRoutes.statement,
      access: 'user',
      // No `input`: the query is checked inside `alongside`, so a caller over the limit gets the 429 whatever it sent.
      handler: async ({ req, res, userId }) =>
        new JsonText(
          await apiLimiter.alongside(res, async () => {
            const q = v.toStatementQuery(v.parse(v.statementQuery, req.query, 'query'), tz);
            return engine.statementJson(userId, q);
          }),
        ),
    }),
    route({
      method: 'get',
      path: ApiRoutes.statementCsv,
      access: 'user',
      input: { query: v.statementCsvQuery },
      handler: async ({ query, res, userId }) => {
        const q = v.toStatementQuery(query, tz);
        await streamStatementCsv(res, { engine, userId, query: q, label: csvLabel(engine, q), formatDate });
        return ANSWERED;
      },
    }),
    route({
      method: 'get',
      path: ApiRoutes.usageDaily,
      access: 'user',
      input: { query: v.rangeQuery },
      handler: ({ query, userId }) => engine.admin.usageDaily(userId, v.usageRange(query, tz, engine.clock())),
    }),
  ];
}
