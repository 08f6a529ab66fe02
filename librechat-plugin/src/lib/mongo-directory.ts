import type { Mongoose } from 'mongoose';
import type { SessionChecker, UserDirectory, UserProfile } from '@solaris/server-extension';

// LibreChat's collections, read through LibreChat's own mongoose connection (models compiled by LibreChat's
// `createModels(mongoose)`, packages/data-schemas/src/models/index.ts):
// - `User` (packages/data-schemas/src/schema/user.ts): name, email, role ('ADMIN' | 'USER', SystemRoles in
//   librechat-data-provider).
// - `Session` (packages/data-schemas/src/schema/session.ts): { refreshTokenHash, expiration, user }; the refresh
//   cookie carries `{ id, sessionId }` (packages/data-schemas/src/methods/session.ts `generateRefreshToken`) and
//   logout deletes the session document, so "session exists, belongs to the user, not expired" is what a live
//   login means (the same filter as LibreChat's `findSession`).
// We use the models' native collections, so no LibreChat query middleware runs for our reads.

const OBJECT_ID = /^[a-f0-9]{24}$/i;

interface NativeCollection {
  findOne(filter: Record<string, unknown>, options?: Record<string, unknown>): Promise<Record<string, unknown> | null>;
}

function collectionOf(mongoose: Mongoose, model: 'User' | 'Session'): NativeCollection | null {
  const m = mongoose.models[model] as unknown as { collection?: NativeCollection } | undefined;
  return m?.collection ?? null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Profile from LibreChat's `users` collection; null when the user does not exist (deleted account). */
export function mongoUserDirectory(mongoose: Mongoose): UserDirectory {
  return async (userId): Promise<UserProfile | null> => {
    if (!OBJECT_ID.test(userId)) return null;
    const users = collectionOf(mongoose, 'User');
    if (!users) throw new Error('LibreChat User model is not compiled yet');
    const doc = await users.findOne({ _id: new mongoose.Types.ObjectId(userId) }, { projection: { email: 1, name: 1, username: 1, role: 1 } });
    if (!doc) return null;
    return { email: str(doc.email), name: str(doc.name) ?? str(doc.username), role: str(doc.role) ?? 'USER' };
  };
}

/** Is the refresh-token session still alive in LibreChat's `sessions` collection? */
export function mongoSessionChecker(mongoose: Mongoose, now: () => number = Date.now): SessionChecker {
  return async (userId, sessionId) => {
    if (!OBJECT_ID.test(userId) || !OBJECT_ID.test(sessionId)) return false;
    const sessions = collectionOf(mongoose, 'Session');
    if (!sessions) throw new Error('LibreChat Session model is not compiled yet');
    const doc = await sessions.findOne(
      {
        _id: new mongoose.Types.ObjectId(sessionId),
        user: new mongoose.Types.ObjectId(userId),
        expiration: { $gt: new Date(now()) },
      },
      { projection: { _id: 1 } },
    );
    return doc !== null;
  };
}

/**
 * The user of a LibreChat agents API key (`sk-` + hex, `Authorization: Bearer` on /api/agents/v1/*), by the key's
 * SHA-256 hex: keys are stored hashed so in `AgentApiKey` documents { userId, keyHash, expiresAt }
 * (packages/data-schemas/src/methods/agentApiKey.ts `validateAgentApiKey`). null: unknown or expired key — LibreChat
 * then answers 401 itself. Read-only: LibreChat's own middleware still validates the key and stamps lastUsedAt.
 */
export function mongoAgentKeyUser(mongoose: Mongoose): (keyHash: string) => Promise<string | null> {
  return async (keyHash) => {
    if (!/^[a-f0-9]{64}$/.test(keyHash)) return null;
    const model = mongoose.models.AgentApiKey as unknown as { collection?: NativeCollection } | undefined;
    // Older LibreChat builds without the model: the collection mongoose would name it.
    const keys = model?.collection ?? (mongoose.connection.collection('agentapikeys') as unknown as NativeCollection);
    const doc = await keys.findOne({ keyHash }, { projection: { userId: 1, expiresAt: 1 } });
    if (!doc) return null;
    const expires = doc.expiresAt instanceof Date ? doc.expiresAt.getTime() : doc.expiresAt ? Date.parse(String(doc.expiresAt)) : NaN;
    if (Number.isFinite(expires) && expires < Date.now()) return null;
    const id = doc.userId == null ? '' : String(doc.userId);
    return OBJECT_ID.test(id) ? id : null;
  };
}
