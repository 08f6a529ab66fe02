import type { IncomingMessage } from 'node:http';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: 'invalid_input' | 'payload_too_large',
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
    if (b && typeof b === 'object' && !Array.isArray(b)) return Promise.resolve({ raw: Buffer.from(JSON.stringify(b)), json: b as Record<string, unknown> });
    return Promise.reject(new BodyError(400, 'invalid_input', 'O corpo da requisição deve ser um objeto JSON.'));
  }
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
      if (failed) return;
      try {
        resolve(parse(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      } catch (e) {
        reject(e);
      }
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
  return { raw, json: json as Record<string, unknown> };
}
