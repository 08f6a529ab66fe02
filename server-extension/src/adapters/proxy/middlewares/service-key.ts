import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../http-errors';
import { createServiceKeyCheck } from '../identity';

/**
 * The service key first: without it the user headers mean nothing (no spoofing) and no body is read.
 * Returns false when it answered 401.
 */
export function requireServiceKey(serviceKey: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  const checkKey = createServiceKeyCheck(serviceKey);
  return (req, res) => {
    if (checkKey(req.headers.authorization)) return true;
    req.resume();
    sendError(res, 401, 'unauthorized', 'Chave de serviço ausente ou inválida (Authorization: Bearer <SOLARIS_PROXY_KEY>).');
    return false;
  };
}
