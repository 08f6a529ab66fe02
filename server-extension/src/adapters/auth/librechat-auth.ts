import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseCookie } from 'cookie';
import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Logger } from '../../core/logger';
import type { Authenticator, Principal, SessionChecker, UserDirectory, UserProfile } from './types';
import { readJwtSecrets, type JwtSecrets } from './secrets';
import { OBJECT_ID_OR_UUID, bearerToken, verifyLibreChatToken as verify } from './librechat-tokens';
import { TtlCache } from './ttl-cache';

// Which tokens and how they are verified: librechat-tokens.ts (shared with the LibreChat gate).

export interface LibreChatAuthOptions {
  engine: QuotaEngine;
  config: SolarisConfig;
  /**
   * Is the refresh cookie's login session still alive? LibreChat glue: LibreChat's `sessions`. Without one, the
   * refresh cookie is refused (a logged-out cookie cannot be told from a live one: docs/security.md); bearer
   * access tokens still work.
   */
  sessionChecker?: SessionChecker;
  /** Default: our users_cache table. LibreChat glue: LibreChat's `users` collection. */
  userDirectory?: UserDirectory;
  /**
   * Whether the directory's emails are LibreChat's own records (the LibreChat glue: its `users` collection), so an
   * email there may grant admin through SOLARIS_ADMIN_EMAILS. Default: true when a directory is given, false for
   * the users_cache default — whose email may have come from the proxy's X-Solaris-User-Email header.
   */
  directoryEmailTrusted?: boolean;
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

/** Authenticates our same-origin requests from the tokens LibreChat already issued; never refreshes them. */
export function createLibreChatAuthenticator(opts: LibreChatAuthOptions): Authenticator & { clearCaches(): void } {
  const secrets = opts.secrets ?? (() => readJwtSecrets());
  // No checker must not mean "every session is valid": the cookie path is off then.
  const sessionChecker: SessionChecker | null = opts.sessionChecker ?? null;
  if (!sessionChecker) {
    opts.logger?.warn('no session checker: refresh-token cookies are refused (bearer access tokens still work)');
  }
  const directory = opts.userDirectory ?? usersCacheDirectory(opts.engine);
  const directoryEmailTrusted = opts.directoryEmailTrusted ?? opts.userDirectory !== undefined;
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
    const token = bearerToken(auth);
    if (token) {
      const v = verify(token, s.access);
      // A refresh token presented as an access token (same secret misconfigured) carries sessionId: refuse it.
      if (v && v.sessionId === undefined) return { userId: v.id, via: 'bearer', email: v.email };
    }
    const cookieHeader = headers.cookie;
    if (typeof cookieHeader === 'string' && cookieHeader.length < 16_384) {
      const cookies = parseCookie(cookieHeader);
      const raw = cookies.refreshToken;
      if (raw && sessionChecker && cookies.token_provider !== 'openid') {
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
      // Identity and roles only from signed claims or LibreChat's own records (docs/security.md): LibreChat's
      // record first (the current email), else the signed claim. users_cache (standalone) is neither: its email
      // is shown when nothing better is known, but never grants admin rights.
      const trustedEmail = (directoryEmailTrusted ? profile.email : null) ?? who.email ?? null;
      const email = trustedEmail ?? profile.email ?? null;
      const principal: Principal = {
        userId: who.userId,
        email,
        name: profile.name,
        role: profile.role,
        isAdmin: profile.role === 'ADMIN' || (trustedEmail !== null && adminEmails.has(trustedEmail.toLowerCase())),
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
