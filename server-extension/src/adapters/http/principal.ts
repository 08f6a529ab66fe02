import type { Response } from 'express';
import type { Principal } from '../auth/types';
import { SolarisError } from '../../core/errors';

/** The authenticated caller, set by the auth middleware in `res.locals` (never taken from the client). */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new SolarisError('unauthorized', 'Not signed in');
  return p;
}
