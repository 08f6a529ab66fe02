/**
 * Every key of a user carries the hash tag `{user}` so one Lua script only touches one Redis Cluster slot.
 * The id is URI-encoded: no `{`/`}` can leak into the tag and distinct ids stay distinct keys.
 */
export function userKeys(userId: string) {
  const tag = `sq:{${encodeURIComponent(userId)}}`;
  return {
    counter: `${tag}:c`,
    reservations: `${tag}:r`,
    /** Settlements acknowledged but not yet in the ledger (SOLARIS_SETTLE_ACK=outbox; core/settle-outbox.ts). */
    outbox: `${tag}:o`,
    lock: `${tag}:lock`,
    marker: (requestId: string) => `${tag}:s:${requestId}`,
  };
}
