import type { IncomingHttpHeaders } from 'node:http';

/** Who is calling: resolved from LibreChat's tokens, enriched from LibreChat's user record. */
export interface Principal {
  userId: string;
  email: string | null;
  name: string | null;
  role: string | null;
  isAdmin: boolean;
  /** How the caller proved who they are (for logs and tests). */
  via: 'bearer' | 'cookie';
}

/** Resolves the caller of an HTTP request or socket.io handshake; null = anonymous (401). */
export interface Authenticator {
  authenticate(headers: IncomingHttpHeaders): Promise<Principal | null>;
}

/**
 * Is this LibreChat login session still alive? The refresh-token JWT stays valid after a logout until it
 * expires, so the LibreChat glue checks LibreChat's `Session` collection. Without a checker the refresh cookie
 * is refused (never "every session valid").
 */
export type SessionChecker = (userId: string, sessionId: string) => Promise<boolean>;

export interface UserProfile {
  email: string | null;
  name: string | null;
  role: string | null;
}

/**
 * Profile of a user id. `null` means "no such user" and the request is refused (a deleted LibreChat user
 * with a still-valid token). LibreChat glue: mongoose `User` lookup; standalone default: our users_cache.
 */
export type UserDirectory = (userId: string) => Promise<UserProfile | null>;
