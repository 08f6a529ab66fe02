import { z } from 'zod';
import { ExtrasRoutes } from '@solaris/wire';
import type { PersonalSettings } from '../../core/personal-settings';
import { route, type Route } from './route-table';
import * as v from './validation';

const settingsBody = z
  .object({
    personalCap: z.number().int('must be a whole number').min(0).max(v.MAX_TOKENS).nullable(),
    warnPercent: z.number().int('must be a whole number').min(1, 'must be 1-99').max(99, 'must be 1-99').nullable(),
  })
  .strict();

/** The caller's own cap and warning percentage (core/personal-settings.ts). */
export function personalSettingsRoutes(settings: PersonalSettings): Route[] {
  return [
    route({ method: 'get', path: ExtrasRoutes.mySettings, access: 'user', input: { query: v.noQuery }, handler: ({ userId }) => settings.get(userId) }),
    route({
      method: 'put',
      path: ExtrasRoutes.mySettings,
      access: 'user',
      mutation: true,
      input: { body: settingsBody },
      handler: ({ userId, body, actor }) => settings.set(userId, body, actor),
    }),
  ];
}
