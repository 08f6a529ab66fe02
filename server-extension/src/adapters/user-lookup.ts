import type pg from 'pg';

/** Looks like an email address (a user id never contains '@': LibreChat ids are Mongo ObjectIds). */
export const isEmail = (ref: string) => /^[^\s@]+@[^\s@]+$/.test(ref);

/**
 * Turns "<user id | email>" into a user id. Emails are looked up in users_cache (LibreChat owns the
 * users; we only know those seen by the plugin). Returns null when an email is unknown.
 */
export async function resolveUserRef(db: Pick<pg.Pool, 'query'>, ref: string): Promise<string | null> {
  const v = ref.trim();
  if (!isEmail(v)) return v;
  const { rows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM users_cache WHERE lower(email) = lower($1) ORDER BY last_seen_at DESC NULLS LAST LIMIT 2`,
    [v],
  );
  return rows[0]?.user_id ?? null;
}
