import { createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export interface JwtSecrets {
  access: string | undefined;
  refresh: string | undefined;
}

/** Parses `KEY=value` lines (dotenv style: optional `export`, quotes, `#` comments). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(raw);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]!] = v;
  }
  return out;
}

let fileCache: { path: string; mtimeMs: number; size: number; values: Record<string, string> } | null = null;

function readTempCredentials(path: string): Record<string, string> {
  try {
    const st = statSync(path);
    if (fileCache && fileCache.path === path && fileCache.mtimeMs === st.mtimeMs && fileCache.size === st.size) return fileCache.values;
    const values = parseEnvFile(readFileSync(path, 'utf8'));
    fileCache = { path, mtimeMs: st.mtimeMs, size: st.size, values };
    return values;
  } catch {
    return {};
  }
}

/**
 * LibreChat's JWT secrets, read at request time: LibreChat loads `.env` (dotenv) after our preload ran and may
 * generate the secrets at start-up into LIBRECHAT_TEMP_CREDENTIALS_PATH (LibreChat
 * `packages/api/src/credentials.ts` `bootstrapCredentials`: environment first, then that file).
 */
export function readJwtSecrets(env: NodeJS.ProcessEnv = process.env): JwtSecrets {
  let access = env.JWT_SECRET || undefined;
  let refresh = env.JWT_REFRESH_SECRET || undefined;
  const tempPath = env.LIBRECHAT_TEMP_CREDENTIALS_PATH;
  if ((!access || !refresh) && tempPath) {
    const file = readTempCredentials(tempPath);
    access ??= file.JWT_SECRET || undefined;
    refresh ??= file.JWT_REFRESH_SECRET || undefined;
  }
  return { access, refresh };
}

const keyCache = new Map<string, KeyObject>();
/**
 * The HMAC key of a JWT secret as a KeyObject, cached. Handing jsonwebtoken a string makes every verify() first
 * try `createPublicKey(secret)` (a PEM parse that throws) before falling back to a secret key: ~0.8 ms of CPU
 * per request, measured by bench:statement. Same bytes as jsonwebtoken's own fallback (UTF-8).
 */
export function hmacKey(secret: string): KeyObject {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size > 8) keyCache.clear(); // secrets rotate rarely; never grow without bound
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keyCache.set(secret, key);
  }
  return key;
}
