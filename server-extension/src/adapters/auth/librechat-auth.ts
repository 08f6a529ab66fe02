import type { IncomingHttpHeaders } from 'node:http';
import jwt from 'jsonwebtoken';
import { parse as parseCookie } from 'cookie';
import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Logger } from '../../core/logger';
import type { Authenticator, Principal, SessionChecker, UserDirectory, UserProfile } from './types';
import { hmacKey, readJwtSecrets, type JwtSecrets } from './secrets';
import { TtlCache } from './ttl-cache';

// LibreChat's tokens (checked against LibreChat's source):
// - access token: `User.generateToken()` (packages/data-schemas/src/methods/user.ts) signs
//   { id, username, provider, email } with JWT_SECRET, HS256 (jsonwebtoken default), 15 min; sent as Bearer.
// - refresh token: `Session.generateRefreshToken()` signs { id, sessionId } with JWT_REFRESH_SECRET and
//   `setAuthTokens` (api/server/services/AuthService.js) stores it in the httpOnly, SameSite=Strict cookie
//   `refreshToken`; `token_provider=openid` marks cookies holding the IdP's tokens instead (not ours to verify).
const ALGORITHMS: jwt.Algorithm[] = ['HS256'];
const MAX_TOKEN_LENGTH = 8192;
const OBJECT_ID_OR_UUID = /^[A-Za-z0-9_-]{1,128}$/;

export interface LibreChatAuthOptions {
  engine: QuotaEngine;
  config: SolarisConfig;
  /** Default: accept every session (standalone). LibreChat glue: look the session up in LibreChat's `sessions`. */
  sessionChecker?: SessionChecker;
  /** Default: our users_cache table. LibreChat glue: LibreChat's `users` collection. */
  userDirectory?: UserDirectory;
  /** Default: process.env + LIBRECHAT_TEMP_CREDENTIALS_PATH, read at each request. */
  secrets?: () => JwtSecrets;
  /**
   * Lifetime of cached profile answers and of "this session is gone" answers (default 5 s). A live session is
   * never cached: a logged-out cookie must be refused at once, on every replica (LibreChat deletes the session
   * document at logout; one lookup by _id per cookie-authenticated request or socket handshake).
   */
  cacheTtlMs?: number;
  /** How often a user's users_cache row is refreshed by this process (default 5 min). */
  touchIntervalMs?: number;
  logger?: Logger;
}

/** users_cache lookup: the standalone default (users are not ours; LibreChat glue replaces this). */
export function usersCacheDirectory(engine: QuotaEngine): UserDirectory {
  return async (userId) => {
    const { rows } = await engine.db.pool.query<UserProfile>(`SELECT email, name, role FROM users_cache WHERE user_id = $1`, [userId]);
    // Unknown here does not mean unknown to LibreChat: never refuse on it.
    return rows[0] ?? { email: null, name: null, role: null };
  };
}

type Verified = { id: string; sessionId?: string; email?: string; username?: string };

function verify(token: string, secret: string | undefined): Verified | null {
  if (!secret || token.length > MAX_TOKEN_LENGTH) return null;
  try {
    const payload = jwt.verify(token, hmacKey(secret), { algorithms: ALGORITHMS });
    if (typeof payload !== 'object' || payload === null) return null;
    const p = payload as Record<string, unknown>;
    if (typeof p.id !== 'string' || !OBJECT_ID_OR_UUID.test(p.id)) return null;
    // An exp claim is mandatory: LibreChat always sets one, and a token without it would never die.
    if (typeof p.exp !== 'number') return null;
    return {
      id: p.id,
      sessionId: typeof p.sessionId === 'string' ? p.sessionId : undefined,
      email: typeof p.email === 'string' ? p.email : undefined,
      username: typeof p.username === 'string' ? p.username : undefined,
    };
  } catch {
    return null; // bad signature, expired, alg not HS256, malformed
  }
}

/** Authenticates our same-origin requests from the tokens LibreChat already issued; never refreshes them. */
export function createLibreChatAuthenticator(opts: LibreChatAuthOptions): Authenticator & { clearCaches(): void } {
  const secrets = opts.secrets ?? (() => readJwtSecrets());
  const sessionChecker: SessionChecker = opts.sessionChecker ?? (async () => true);
  const directory = opts.userDirectory ?? usersCacheDirectory(opts.engine);
  const ttl = opts.cacheTtlMs ?? 5_000;
  const profiles = new TtlCache<UserProfile | null>(ttl);
  const sessions = new TtlCache<boolean>(ttl);
  const touchEvery = opts.touchIntervalMs ?? 5 * 60_000;
  const lastTouch = new Map<string, number>();
  const adminEmails = new Set(opts.config.SOLARIS_ADMIN_EMAILS);

  function touch(userId: string, p: UserProfile): void {
    const now = Date.now();
    if ((lastTouch.get(userId) ?? 0) + touchEvery > now) return;
    if (lastTouch.size > 50_000) lastTouch.clear();
    lastTouch.set(userId, now);
    opts.engine.admin.touchUser({ userId, ...p }).catch((e: unknown) => {
      lastTouch.delete(userId);
      opts.logger?.warn('users_cache update failed', { userId, error: e });
    });
  }

  async function identify(headers: IncomingHttpHeaders): Promise<{ userId: string; via: Principal['via']; email?: string } | null> {
    const s = secrets();
    const auth = headers.authorization;
    if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) {
      const v = verify(auth.replace(/^bearer\s+/i, '').trim(), s.access);
      // A refresh token presented as an access token (same secret misconfigured) carries sessionId: refuse it.
      if (v && v.sessionId === undefined) return { userId: v.id, via: 'bearer', email: v.email };
    }
    const cookieHeader = headers.cookie;
    if (typeof cookieHeader === 'string' && cookieHeader.length < 16_384) {
      const cookies = parseCookie(cookieHeader);
      const raw = cookies.refreshToken;
      if (raw && cookies.token_provider !== 'openid') {
        const v = verify(raw, s.refresh);
        if (v && v.sessionId && OBJECT_ID_OR_UUID.test(v.sessionId)) {
          const sid = v.sessionId;
          const key = `${v.id}:${sid}`;
          const alive = await sessions.get(key, () => sessionChecker(v.id, sid));
          if (alive) {
            sessions.delete(key); // only "gone" is remembered: it never comes back
            return { userId: v.id, via: 'cookie' };
          }
        }
      }
    }
    return null;
  }

  return {
    async authenticate(headers) {
      const who = await identify(headers);
      if (!who) return null;
      const profile = await profiles.get(who.userId, () => directory(who.userId));
      if (!profile) return null; // the user no longer exists
      const email = profile.email ?? who.email ?? null;
      const principal: Principal = {
        userId: who.userId,
        email,
        name: profile.name,
        role: profile.role,
        isAdmin: profile.role === 'ADMIN' || (email !== null && adminEmails.has(email.toLowerCase())),
        via: who.via,
      };
      touch(who.userId, { email, name: profile.name, role: profile.role });
      return principal;
    },
    clearCaches() {
      profiles.clear();
      sessions.clear();
      lastTouch.clear();
    },
  };
}
