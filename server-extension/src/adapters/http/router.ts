import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Redis } from 'ioredis';
import { ApiRoutes, type MeDTO, type StatementQuery } from '@solaris/wire';
import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Logger } from '../../core/logger';
import type { Actor } from '../../core/admin';
import { SolarisError, invalid } from '../../core/errors';
import type { Authenticator } from '../auth/types';
import { principalOf } from './principal';
import { errorHandler, notFound } from './errors';
import { DEFAULT_RATE_LIMITS, apiRateLimit, createLimiter, rateLimit, type RateLimitOptions } from './rate-limit';
import { CSV_BOM, CSV_HEADER, CSV_SEPARATOR, csvDateFormatter, csvRow } from './csv';
import * as v from './validation';
import { createExtrasRouter } from './extras-routes';
import type { SolarisExtras } from '../../core/extras';

export interface ApiRouterDeps {
  engine: QuotaEngine;
  authenticator: Authenticator;
  config: SolarisConfig;
  /** When set, rate limits are shared by every replica. */
  redis?: Redis | null;
  logger?: Logger;
  rateLimits?: RateLimitOptions;
  /** Max JSON body (default 16 kB: our bodies are a handful of fields). */
  jsonLimit?: string;
  /** Personal caps, quota requests, role plans, webhooks (core/extras.ts): their routes are mounted when set. */
  extras?: SolarisExtras;
}

/** The CSV of one user's statement (ApiRoutes.adminUserStatementCsv). */
export const ADMIN_USER_STATEMENT_CSV = ApiRoutes.adminUserStatementCsv;

const CSV_PAGE = 200;

/** Express 5 forwards rejected promises to the error handler, so handlers are plain async functions. */
type Handler = (req: Request, res: Response) => Promise<void>;
const h =
  (fn: Handler): RequestHandler =>
  (req, res, next) =>
    fn(req, res).catch(next);
/** Same, for a middleware: continues on success. */
const mw =
  (fn: Handler): RequestHandler =>
  (req, res, next) =>
    fn(req, res).then(() => next(), next);

/** A body that is already JSON text (the statement page as Postgres built it): sent as is, not re-serialised. */
function sendJsonText(res: Response, json: string): void {
  res.type('application/json').send(json);
}

/**
 * The REST API the widget calls, mounted at API_PREFIX. Everything is per caller: user routes read only the
 * principal's own id; /admin/* needs `isAdmin`; admin changes go through engine.admin (audit log inside).
 */
export function createApiRouter(deps: ApiRouterDeps): Router {
  const { engine, authenticator, config } = deps;
  const tz = config.SOLARIS_TIMEZONE;
  const limits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };
  const apiLimiter = apiRateLimit(createLimiter('api', limits.api, deps.redis));
  const mutationLimiter = rateLimit(createLimiter('admin', limits.adminMutations, deps.redis));
  const formatDate = csvDateFormatter(tz);
  const r = Router({ caseSensitive: true, strict: false });

  r.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  r.use(
    mw(async (req, res) => {
      const principal = await authenticator.authenticate(req.headers);
      if (!principal) throw new SolarisError('unauthorized', 'Sessão não encontrada ou expirada / not signed in');
      res.locals.principal = principal;
    }),
  );
  // Every route takes its point here, before it runs, except the statement page (the widget's heaviest read):
  // it takes the same point alongside its queries (apiLimiter.alongside), so the Redis round trip overlaps them.
  r.use((req, res, next) => {
    if (req.method === 'GET' && req.path === ApiRoutes.statement) next();
    else apiLimiter.middleware(req, res, next);
  });

  // Bodies: JSON only. A form post (the one cross-site request a browser sends without a preflight) is refused.
  r.use((req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['content-type'] && !req.is('application/json')) {
      next(invalid('Content-Type must be application/json'));
      return;
    }
    next();
  });
  r.use(express.json({ limit: deps.jsonLimit ?? '16kb', strict: true, type: 'application/json' }));

  const actorOf = (res: Response): Actor => {
    const p = principalOf(res);
    return { id: p.userId, email: p.email };
  };
  const body = (req: Request) => (req.body === undefined ? {} : req.body);

  async function streamCsv(res: Response, userId: string, q: StatementQuery, label: string): Promise<void> {
    // The first page is read before any byte is sent, so a bad filter still answers a JSON error.
    let page = await engine.statement(userId, { ...q, limit: CSV_PAGE });
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="extrato-${label.replace(/[^A-Za-z0-9_-]/g, '_')}.csv"`);
    res.write(CSV_BOM + CSV_HEADER.join(CSV_SEPARATOR) + '\r\n');
    for (;;) {
      const chunk = page.items.map((e) => csvRow(e, formatDate) + '\r\n').join('');
      if (chunk && !res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (closed || !page.nextCursor) break;
      page = await engine.statement(userId, { ...q, limit: CSV_PAGE, cursor: page.nextCursor });
    }
    res.end();
  }
  const csvLabel = (q: StatementQuery) => q.period ?? new Date(engine.clock()).toISOString().slice(0, 10);

  /** A plan body that says `limit` (the CLI's old flag, the override's field) gets told the field's name. */
  const planHint = (b: unknown): unknown => {
    if (b && typeof b === 'object' && 'limit' in b && !('tokenLimit' in b)) {
      throw invalid('A plan\'s limit is `tokenLimit` (tokens per period), not `limit`', { field: 'tokenLimit' });
    }
    return b;
  };

  // ---------- the caller's own data ----------
  r.get(
    ApiRoutes.me,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      const p = principalOf(res);
      const me: MeDTO = { userId: p.userId, email: p.email, name: p.name, role: p.role, isAdmin: p.isAdmin, balance: await engine.balance(p.userId) };
      res.json(me);
    }),
  );
  r.get(
    ApiRoutes.balance,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await engine.balance(principalOf(res).userId));
    }),
  );
  r.get(
    ApiRoutes.statement,
    h(async (req, res) => {
      sendJsonText(
        res,
        await apiLimiter.alongside(res, async () => {
          const q = v.toStatementQuery(v.parse(v.statementQuery, req.query, 'query'), tz);
          return engine.statementJson(principalOf(res).userId, q);
        }),
      );
    }),
  );
  r.get(
    ApiRoutes.statementCsv,
    h(async (req, res) => {
      const q = v.toStatementQuery(v.parse(v.statementCsvQuery, req.query, 'query'), tz);
      await streamCsv(res, principalOf(res).userId, q, csvLabel(q));
    }),
  );
  r.get(
    ApiRoutes.usageDaily,
    h(async (req, res) => {
      const range = v.usageRange(v.parse(v.rangeQuery, req.query, 'query'), tz, engine.clock());
      res.json(await engine.admin.usageDaily(principalOf(res).userId, range));
    }),
  );

  // ---------- admin ----------
  r.use('/admin', (_req, res, next) => {
    next(principalOf(res).isAdmin ? undefined : new SolarisError('forbidden', 'Apenas administradores / admins only'));
  });
  const userIdOf = (req: Request) => v.parse(v.userIdParams, req.params, 'params').userId;

  r.get(
    ApiRoutes.adminUsers,
    h(async (req, res) => {
      res.json(await engine.admin.listUsers(v.parse(v.adminUsersQuery, req.query, 'query')));
    }),
  );
  r.get(
    ApiRoutes.adminUser,
    h(async (req, res) => {
      res.json(await engine.admin.userDetail(userIdOf(req)));
    }),
  );
  r.get(
    ApiRoutes.adminUserStatement,
    h(async (req, res) => {
      const userId = userIdOf(req);
      const q = v.toStatementQuery(v.parse(v.statementQuery, req.query, 'query'), tz);
      sendJsonText(res, await engine.statementJson(userId, q));
    }),
  );
  r.get(
    ADMIN_USER_STATEMENT_CSV,
    h(async (req, res) => {
      const userId = userIdOf(req);
      const q = v.toStatementQuery(v.parse(v.statementCsvQuery, req.query, 'query'), tz);
      await streamCsv(res, userId, q, `${userId}-${csvLabel(q)}`);
    }),
  );
  r.post(
    ApiRoutes.adminGrant,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(v.grantBody, body(req), 'body');
      res.json(await engine.admin.grant({ userId: userIdOf(req), ...b }, actorOf(res)));
    }),
  );
  r.post(
    ApiRoutes.adminReset,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(v.resetBody, body(req), 'body');
      res.json(await engine.admin.reset({ userId: userIdOf(req), reason: b.reason ?? null }, actorOf(res)));
    }),
  );
  r.put(
    ApiRoutes.adminOverride,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(v.limitBody, body(req), 'body');
      res.json(await engine.admin.setLimitOverride({ userId: userIdOf(req), limit: b.limit }, actorOf(res)));
    }),
  );
  r.put(
    ApiRoutes.adminAssignPlan,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(v.assignPlanBody, body(req), 'body');
      res.json(await engine.admin.assignPlan({ userId: userIdOf(req), planId: b.planId }, actorOf(res)));
    }),
  );
  r.get(
    ApiRoutes.adminPlans,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await engine.admin.listPlans());
    }),
  );
  r.post(
    ApiRoutes.adminPlans,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(v.planBody, planHint(body(req)), 'body');
      const existing = await engine.admin.listPlans();
      if (existing.some((p) => p.id === b.id)) throw new SolarisError('conflict', `plan ${b.id} already exists; use PUT to change it`);
      res.status(201).json(await engine.admin.upsertPlan(b, actorOf(res)));
    }),
  );
  r.put(
    ApiRoutes.adminPlan,
    mutationLimiter,
    h(async (req, res) => {
      const { planId } = v.parse(v.planIdParams, req.params, 'params');
      const b = v.parse(v.planUpdateBody, planHint(body(req)), 'body');
      if (b.id !== undefined && b.id !== planId) throw invalid('id in the body must match the path', { field: 'id' });
      const current = (await engine.admin.listPlans()).find((p) => p.id === planId);
      if (!current) throw new SolarisError('not_found', `plan ${planId} does not exist`);
      // isDefault left out keeps the plan's current flag (so renaming the default plan keeps it default).
      res.json(await engine.admin.upsertPlan({ ...b, id: planId, isDefault: b.isDefault ?? current.isDefault }, actorOf(res)));
    }),
  );
  r.get(
    ApiRoutes.adminAudit,
    h(async (req, res) => {
      res.json(await engine.admin.auditLog(v.parse(v.auditQuery, req.query, 'query')));
    }),
  );
  r.get(
    ApiRoutes.adminUsageDaily,
    h(async (req, res) => {
      const q = v.parse(v.adminRangeQuery, req.query, 'query');
      res.json(await engine.admin.usageDaily(q.userId ?? null, v.usageRange(q, tz, engine.clock())));
    }),
  );
  r.get(
    ApiRoutes.adminUsageByModel,
    h(async (req, res) => {
      res.json(await engine.admin.usageByModel(v.usageRange(v.parse(v.rangeQuery, req.query, 'query'), tz, engine.clock())));
    }),
  );

  if (deps.extras) r.use(createExtrasRouter({ engine, extras: deps.extras, redis: deps.redis, rateLimits: deps.rateLimits }));

  r.use((_req: Request, _res: Response, next: NextFunction) => next(notFound()));
  r.use(errorHandler(deps.logger));
  return r;
}
