import jwt from 'jsonwebtoken';
import { hmacKey } from './secrets';

// LibreChat's tokens (checked against LibreChat's source):
// - access token: `User.generateToken()` (packages/data-schemas/src/methods/user.ts) signs
//   { id, username, provider, email } with JWT_SECRET, HS256 (jsonwebtoken default), 15 min; sent as Bearer.
// - refresh token: `Session.generateRefreshToken()` signs { id, sessionId } with JWT_REFRESH_SECRET and
//   `setAuthTokens` (api/server/services/AuthService.js) stores it in the httpOnly, SameSite=Strict cookie
//   `refreshToken`; `token_provider=openid` marks cookies holding the IdP's tokens instead (not ours to verify).
// One module for every reader of them: our authenticator (REST API, socket.io) and the LibreChat gate.
const ALGORITHMS: jwt.Algorithm[] = ['HS256'];
const MAX_TOKEN_LENGTH = 8192;
export const OBJECT_ID_OR_UUID = /^[A-Za-z0-9_-]{1,128}$/;
const OBJECT_ID = /^[a-f0-9]{24}$/i;

export interface VerifiedToken {
  id: string;
  sessionId?: string;
  email?: string;
  username?: string;
  /** The payload carries a `sessionId` claim (of any type): refresh-shaped, never an access token. */
  refreshShaped: boolean;
  /** `exp` (seconds), when the token has one. */
  exp?: number;
}

/**
 * Verifies a LibreChat JWT (HS256 only, ≤ 8 kB, `id` an ObjectId or UUID). `requireExp` (default true): our
 * own routes refuse a token without `exp` (LibreChat always sets one; such a token would never die); the gate
 * does not, since LibreChat's passport-jwt would accept it and the request must then still be gated.
 */
export function verifyLibreChatToken(token: string, secret: string | undefined, opts: { requireExp?: boolean } = {}): VerifiedToken | null {
  if (!secret || token.length > MAX_TOKEN_LENGTH) return null;
  try {
    const payload = jwt.verify(token, hmacKey(secret), { algorithms: ALGORITHMS }); // KeyObject: no PEM parse attempt per call
    if (typeof payload !== 'object' || payload === null) return null;
    const p = payload as Record<string, unknown>;
    if (typeof p.id !== 'string' || !OBJECT_ID_OR_UUID.test(p.id)) return null;
    if ((opts.requireExp ?? true) && typeof p.exp !== 'number') return null;
    return {
      id: p.id,
      sessionId: typeof p.sessionId === 'string' ? p.sessionId : undefined,
      email: typeof p.email === 'string' ? p.email : undefined,
      username: typeof p.username === 'string' ? p.username : undefined,
      refreshShaped: p.sessionId !== undefined,
      ...(typeof p.exp === 'number' ? { exp: p.exp } : {}),
    };
  } catch {
    return null; // bad signature, expired, alg not HS256, malformed
  }
}

/** The token of an `Authorization: Bearer <token>` header, else null. */
export function bearerToken(authorization: string | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const m = /^bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1]! : null;
}

/**
 * Access tokens the gate verified, by the whole token, until their `exp`: a LibreChat client sends one token with
 * every request for its 15 minutes, and verifying it again (HMAC, base64, JSON, jsonwebtoken's option checks) was
 * ~0.1 ms of every chat in LibreChat's process (bench:gate profile). The same string under the same secret
 * verifies the same way until it expires (a `nbf` that passed stays passed), so only successes are kept; the
 * oldest goes first beyond VERIFIED_MAX (~1.5 MB at most).
 */
const verifiedAccess = new Map<string, { userId: string; secret: string; exp: number }>();
const VERIFIED_MAX = 4_096;

/**
 * The gate's reading of LibreChat's access token (`Authorization: Bearer <JWT>` signed with JWT_SECRET; LibreChat
 * api/strategies/jwtStrategy.js reads `payload.id`, a Mongo ObjectId). Returns the user id, or null for anything
 * LibreChat itself would refuse (it then answers 401 itself, so its client refreshes the token as usual).
 */
export function accessTokenUser(authorization: string | undefined, secret: string | undefined): string | null {
  const token = bearerToken(authorization);
  if (!token || !secret) return null;
  const known = verifiedAccess.get(token);
  if (known) {
    // jsonwebtoken's rule: expired once the current whole second reaches `exp`.
    if (known.secret === secret && Math.floor(Date.now() / 1000) < known.exp) return known.userId;
    verifiedAccess.delete(token);
  }
  const v = verifyLibreChatToken(token, secret, { requireExp: false });
  if (!v || v.refreshShaped) return null; // a refresh token is not an access token
  if (!OBJECT_ID.test(v.id)) return null;
  if (verifiedAccess.size >= VERIFIED_MAX) verifiedAccess.delete(verifiedAccess.keys().next().value!);
  verifiedAccess.set(token, { userId: v.id, secret, exp: v.exp ?? Infinity });
  return v.id;
}

