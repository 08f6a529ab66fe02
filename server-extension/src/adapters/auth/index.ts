export type { Authenticator, Principal, SessionChecker, UserDirectory, UserProfile } from './types';
export { createLibreChatAuthenticator, usersCacheDirectory, type LibreChatAuthOptions } from './librechat-auth';
export { readJwtSecrets, parseEnvFile, hmacKey, type JwtSecrets } from './secrets';
export { TtlCache } from './ttl-cache';
export { accessTokenUser, bearerToken, verifyLibreChatToken, type VerifiedToken } from './librechat-tokens';
