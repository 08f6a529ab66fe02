import type { Mongoose } from 'mongoose';
import type { SessionChecker, UserDirectory, UserProfile } from '../../../server-extension/src/adapters/auth/types';

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
