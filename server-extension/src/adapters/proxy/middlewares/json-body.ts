import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyError, readJsonBody } from '../body';
import { sendError } from '../http-errors';

/** The size-limited JSON body, or null when it was refused (413 / 400 already sent). */
export async function jsonBody(req: IncomingMessage, res: ServerResponse, maxBody: number): Promise<Record<string, unknown> | null> {
  try {
    return (await readJsonBody(req, maxBody)).json;
  } catch (e) {
    if (e instanceof BodyError) sendError(res, e.status, e.code, e.message);
    else throw e;
    return null;
  }
}
