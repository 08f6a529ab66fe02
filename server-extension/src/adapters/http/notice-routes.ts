import { z } from 'zod';
import { ExtrasRoutes } from '@solaris/wire';
import type { Queryable } from '../../core/sql';
import { listUnseenNotices, markNoticesSeen } from '../../core/notices';
import { route, type Route } from './route-table';
import * as v from './validation';

const noticesSeenBody = z.object({ ids: z.array(z.string().regex(/^\d{1,18}$/, 'must be a notice id')).min(1).max(100) }).strict();

/** The caller's unseen notices (decisions, grants, resets) and marking them seen (core/notices.ts). */
export function noticeRoutes(pool: Queryable): Route[] {
  return [
    route({ method: 'get', path: ExtrasRoutes.myNotices, access: 'user', input: { query: v.noQuery }, handler: ({ userId }) => listUnseenNotices(pool, userId) }),
    route({
      method: 'post',
      path: ExtrasRoutes.myNoticesSeen,
      access: 'user',
      mutation: true,
      input: { body: noticesSeenBody },
      handler: async ({ userId, body }) => ({ seen: await markNoticesSeen(pool, userId, body.ids) }),
    }),
  ];
}
