import type { IncomingMessage } from 'node:http';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: 'invalid_input' | 'payload_too_large' | 'json_too_deep' | 'json_too_large',
    message: string,
  ) {
    super(message);
  }
}

export interface JsonBody {
  /** The bytes as received: forwarded upstream unchanged whenever we do not need to alter the body. */
  raw: Buffer;
  json: Record<string, unknown>;
}

/**
 * Reads and parses a JSON object body with a size limit, without a framework (this is the streaming
 * hot path). A body already parsed by a framework mounted in front (`req.body`) is reused.
 */
export function readJsonBody(req: IncomingMessage & { body?: unknown }, limit: number): Promise<JsonBody> {
  if (req.body !== undefined && req.readableEnded) {
    const b = req.body;
    if (Buffer.isBuffer(b)) return Promise.resolve(parse(b));
    if (typeof b === 'string') return Promise.resolve(parse(Buffer.from(b)));
    if (b && typeof b === 'object' && !Array.isArray(b)) {
      try {
        checkJsonShape(b); // before JSON.stringify (recursive)
      } catch (e) {
        return Promise.reject(e as Error);
      }
      return Promise.resolve({ raw: Buffer.from(JSON.stringify(b)), json: b as Record<string, unknown> });
    }
    return Promise.reject(new BodyError(400, 'invalid_input', 'O corpo da requisição deve ser um objeto JSON.'));
  }
  return readRawBody(req, limit).then(parse);
}

/**
 * The bytes of a request body, at most `limit` (BodyError 413 beyond it, the rest drained so the connection can
 * be reused; 400 when the read fails). Used by the proxy and by the LibreChat gate.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain so the connection can be reused
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        failed = true;
        req.off('data', onData);
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('error', (e) => {
      if (!failed) reject(new BodyError(400, 'invalid_input', `Falha ao ler o corpo: ${e.message}`));
    });
  });
}

function tooLarge(limit: number): BodyError {
  return new BodyError(413, 'payload_too_large', `O corpo da requisição passa do limite de ${limit} bytes.`);
}

function parse(raw: Buffer): JsonBody {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BodyError(400, 'invalid_input', 'O corpo da requisição não é um JSON válido.');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new BodyError(400, 'invalid_input', 'O corpo da requisição deve ser um objeto JSON.');
  }
  checkJsonShape(json);
  return { raw, json: json as Record<string, unknown> };
}

/** Deepest nesting a body may have: every OpenAI field (tools' JSON schemas included) fits in far less. */
export const MAX_JSON_DEPTH = 64;
/** Most values (objects, arrays, strings, numbers…) a body may hold. */
export const MAX_JSON_NODES = 1_000_000;

/**
 * Refuses a body nested deeper than MAX_JSON_DEPTH or holding more than MAX_JSON_NODES values, BEFORE anything
 * recursive (the estimate, JSON.stringify of the upstream body) touches it: 20,000 nested arrays overflowed the
 * stack after the reservation was taken (a 500 and a hold left behind). Iterative: cannot overflow itself.
 */
export function checkJsonShape(json: unknown): void {
  const stack: Array<{ v: unknown; d: number }> = [{ v: json, d: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (++nodes > MAX_JSON_NODES) throw new BodyError(400, 'json_too_large', `O corpo da requisição tem valores demais (máximo ${MAX_JSON_NODES}).`);
    if (v === null || typeof v !== 'object') continue;
    if (d > MAX_JSON_DEPTH) throw new BodyError(400, 'json_too_deep', `O corpo da requisição está aninhado demais (máximo ${MAX_JSON_DEPTH} níveis).`);
    for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) stack.push({ v: x, d: d + 1 });
  }
}
