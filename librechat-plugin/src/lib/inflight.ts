/**
 * Reservations the gate holds for generations running in this process. LibreChat's chat answers at once
 * (`{ streamId, conversationId, status: 'started' }`) and generates in the background, so the reservation
 * cannot be tied to the HTTP response; it is freed when LibreChat records the turn's spend (our Transaction
 * hook) or, failing that, by the engine's reservation TTL.
 *
 * Linking a spend to its reservation: LibreChat's transaction `messageId` is the id of the *response* message,
 * which the request does not know, so we match on the user, preferring a reservation of the same conversation
 * (`conversationId` is in the request unless it is a new chat, 'new'), else the oldest one. One spend frees at
 * most one reservation, and the rows of one message (prompt + completion, saved separately) free one.
 */
export interface Inflight {
  requestId: string;
  userId: string;
  conversationId: string | null;
  startedAt: number;
  expiresAt: number;
  /** Completion tokens the hold covers (held − the prompt's estimate): the metering proxy caps the answer to it. */
  completionTokens: number;
}

export class InflightRegistry {
  private readonly byUser = new Map<string, Inflight[]>();
  private readonly releasedMessages = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  add(entry: Inflight): void {
    const list = this.live(entry.userId);
    list.push(entry);
    this.byUser.set(entry.userId, list);
  }

  remove(userId: string, requestId: string): boolean {
    const list = this.byUser.get(userId);
    if (!list) return false;
    const i = list.findIndex((e) => e.requestId === requestId);
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.byUser.delete(userId);
    return true;
  }

  /** Picks (and forgets) the reservation a recorded spend belongs to. */
  takeForSpend(userId: string, conversationId: string | null, messageId: string | null): Inflight | undefined {
    if (messageId) {
      const key = `${userId}:${messageId}`;
      if (this.releasedMessages.has(key)) return undefined;
      this.releasedMessages.add(key);
      if (this.releasedMessages.size > 10_000) {
        const oldest = this.releasedMessages.values().next().value;
        if (oldest !== undefined) this.releasedMessages.delete(oldest);
      }
    }
    const list = this.live(userId);
    if (list.length === 0) return undefined;
    let i = conversationId ? list.findIndex((e) => e.conversationId === conversationId) : -1;
    if (i < 0) i = 0; // oldest first: the generation started first most likely finished first
    const [entry] = list.splice(i, 1);
    if (list.length === 0) this.byUser.delete(userId);
    return entry;
  }

  /**
   * The gate-admitted turn a call of LibreChat's through our metering proxy belongs to, without taking it (the
   * spend still frees it): same conversation first, else the oldest. undefined: no turn of this user in flight here.
   */
  peek(userId: string, conversationId: string | null): Inflight | undefined {
    const list = this.live(userId);
    return (conversationId ? list.find((e) => e.conversationId === conversationId) : undefined) ?? list[0];
  }

  count(userId?: string): number {
    if (userId) return this.live(userId).length;
    let n = 0;
    for (const u of this.byUser.keys()) n += this.live(u).length;
    return n;
  }

  private live(userId: string): Inflight[] {
    const t = this.now();
    const list = (this.byUser.get(userId) ?? []).filter((e) => e.expiresAt > t);
    if (list.length === 0) this.byUser.delete(userId);
    else this.byUser.set(userId, list);
    return list;
  }
}
