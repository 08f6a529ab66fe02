import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Actor } from '../../core/admin';
import { SolarisError } from '../../core/errors';
import type { Principal } from '../auth/types';
import { principalOf } from './principal';
import { parse } from './validation';

/** Who may call a route: any signed-in user (their own data only), or admins. */
export type Access = 'user' | 'admin';

type Part = 'params' | 'query' | 'body';

/** What a handler gets: the request's parts as its schemas parsed them, and the verified caller. */
export interface RouteCall<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  /** The caller's own id (user routes read no other). */
  userId: string;
  /** The caller as the audit log names them. */
  actor: Actor;
  req: Request;
  res: Response;
}

/** A body that is already JSON text (the statement page as Postgres built it): sent as is, not re-serialised. */
export class JsonText {
  constructor(readonly text: string) {}
}

/** Returned by a handler that wrote the response itself (the CSV stream). */
export const ANSWERED = Symbol('answered');

export interface Route<P = unknown, Q = unknown, B = unknown> {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  access: Access;
  /** Takes a point of the table's mutation limiter (after the access check, before validation). */
  mutation?: boolean;
  /**
   * zod schemas of the parts the route reads, checked in the order written: the first bad part is the 400
   * (a few admin routes check the body before the path, and say so by writing it first). A part left out is
   * not checked (so e.g. a POST ignores its query string, as it always did).
   */
  input?: { params?: z.ZodType<P>; query?: z.ZodType<Q>; body?: z.ZodType<B> };
  /** Success status; 204 sends no body. Default 200. */
  status?: 200 | 201 | 202 | 204;
  /** Answers the JSON value it returns (a JsonText as is; ANSWERED: the handler replied itself). */
  handler: (call: RouteCall<P, Q, B>) => Promise<unknown>;
}

/** Types one table entry (its handler's parts inferred from its schemas). */
export function route<P = unknown, Q = unknown, B = unknown>(r: Route<P, Q, B>): Route {
  return r as unknown as Route;
}

export const adminOnly: RequestHandler = (_req, res, next) =>
  next(principalOf(res).isAdmin ? undefined : new SolarisError('forbidden', 'Apenas administradores / admins only'));

/** A missing JSON body reads as `{}` (the schemas then name the missing field). */
export const bodyOf = (req: Request): unknown => (req.body === undefined ? {} : req.body);
const rawPart = (req: Request, part: Part): unknown => (part === 'body' ? bodyOf(req) : req[part]);

function run(r: Route): RequestHandler {
  return (req, res, next) => {
    const answer = async () => {
      const parts: Record<Part, unknown> = { params: undefined, query: undefined, body: undefined };
      for (const [part, schema] of Object.entries(r.input ?? {}) as Array<[Part, z.ZodType<unknown>]>) {
        parts[part] = parse(schema, rawPart(req, part), part);
      }
      const principal = principalOf(res);
      const actor: Actor = { id: principal.userId, email: principal.email };
      const out = await r.handler({ ...parts, principal, userId: principal.userId, actor, req, res });
      if (out === ANSWERED) return;
      if (r.status === 204) res.status(204).end();
      else if (out instanceof JsonText) res.status(r.status ?? 200).type('application/json').send(out.text);
      else res.status(r.status ?? 200).json(out);
    };
    // Errors go to the router's one error handler (errors.ts), which maps them to status and body.
    answer().catch(next);
  };
}

/**
 * Mounts a table on `router`, each route as its own express route (so express's route table lists them all):
 * access check, then the mutation limiter, then validation, handler and JSON reply.
 */
export function mountRoutes(router: Router, routes: readonly Route[], opts: { mutationLimiter: RequestHandler }): void {
  for (const r of routes) {
    const chain: RequestHandler[] = [];
    if (r.access === 'admin') chain.push(adminOnly);
    if (r.mutation) chain.push(opts.mutationLimiter);
    chain.push(run(r));
    router[r.method](r.path, ...chain);
  }
}
