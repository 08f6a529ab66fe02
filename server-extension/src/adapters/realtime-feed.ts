import type { BalanceDTO, BlockedEventDTO, LedgerEntryDTO, NoticeDTO, QuotaRequestDecidedEventDTO, QuotaRequestEventDTO, ServerToClientEvents, ThresholdEventDTO, UsageEventDTO } from '@solaris/wire';
import type { QuotaEngine } from '../core/engine';
import type { EngineEvents } from '../core/engine-events';
import type { Logger } from '../core/logger';
import { TtlCache } from './auth/ttl-cache';

export const ADMINS_ROOM = 'admins';
export const userRoom = (userId: string) => `user:${userId}`;

/** Admins see usage this late at most; a busy process sends one feed message per window instead of one per chat. */
export const USAGE_WINDOW_MS = 500;

export type FeedEvent = keyof ServerToClientEvents;

/**
 * Where the feed sends an event for a room: socket.io once it is attached (its own sockets, and through its
 * Redis adapter every replica's), else the rooms' Redis channels directly (realtime-emitter.ts) — a LibreChat
 * process whose widget has not connected yet does not load socket.io, yet its chats must reach the sockets of
 * the other replicas.
 */
export interface RoomSink {
  emit(room: string, event: FeedEvent, payload: unknown): void;
}

export interface RealtimeFeedOptions {
  engine: QuotaEngine;
  /** Until `use()` is called. null: events are dropped (nobody can receive them: no socket.io, no Redis). */
  sink: RoomSink | null;
  logger?: Logger;
  /** Email shown in the admin `usage` feed. Default: our users_cache table. */
  lookupEmail?: (userId: string) => Promise<string | null>;
  /** The admins' usage feed is sent as one `usage_batch` per this many ms (default USAGE_WINDOW_MS). */
  usageWindowMs?: number;
}

export interface RealtimeFeed {
  /** Sends to `sink` from now on; null goes back to the sink given at creation. */
  use(sink: RoomSink | null): void;
  close(): void;
}

/** Engine events → rooms: `user:<id>` for the user's own events, `admins` for the feed and quota requests. One per process. */
export function createRealtimeFeed(opts: RealtimeFeedOptions): RealtimeFeed {
  const { engine, logger } = opts;
  let sink = opts.sink;
  const emails =
    opts.lookupEmail ??
    ((userId: string) =>
      engine.db.pool.query<{ email: string | null }>(`SELECT email FROM users_cache WHERE user_id = $1`, [userId]).then((r) => r.rows[0]?.email ?? null));
  const emailCache = new TtlCache<string | null>(60_000);
  const send = (room: string, event: FeedEvent, payload: unknown) => sink?.emit(room, event, payload);

  // The admins' `usage` feed, one `usage_batch` per USAGE_WINDOW_MS per process (not one publish per chat).
  // settle() emits `ledger` then `balance` synchronously: an entry takes the balance that follows it in the same
  // tick; one without (the outbox drainer's `ledger`) reads it at the flush.
  const batch: { userId: string; entry: LedgerEntryDTO; balance: BalanceDTO | null }[] = [];
  let awaitingBalance = new Map<string, number[]>();
  let flushTimer: NodeJS.Timeout | null = null;
  async function flushUsage(): Promise<void> {
    flushTimer = null;
    const items = batch.splice(0);
    awaitingBalance = new Map();
    const balances = new Map<string, Promise<BalanceDTO | null>>();
    const balanceOf = (userId: string) => {
      let p = balances.get(userId);
      if (!p) {
        p = engine.balance(userId).catch((e: unknown) => {
          logger?.warn('usage feed balance failed', { userId, error: e });
          return null;
        });
        balances.set(userId, p);
      }
      return p;
    };
    const feed = await Promise.all(
      items.map(async ({ userId, entry, balance }) => {
        const b = balance ?? (await balanceOf(userId));
        const email = await emailCache.get(userId, () => emails(userId)).catch(() => null);
        return b ? { userId, email, entry, balance: b } : null;
      }),
    );
    const events = feed.filter((e): e is UsageEventDTO => e !== null);
    if (events.length > 0) send(ADMINS_ROOM, 'usage_batch', events);
  }

  const onBalance = (b: BalanceDTO) => {
    send(userRoom(b.userId), 'balance', b);
    const waiting = awaitingBalance.get(b.userId);
    if (waiting) {
      awaitingBalance.delete(b.userId);
      for (const i of waiting) batch[i]!.balance = b;
    }
  };
  const onLedger = ({ userId, entry }: { userId: string; entry: LedgerEntryDTO }) => {
    send(userRoom(userId), 'ledger', entry);
    const waiting = awaitingBalance.get(userId) ?? [];
    waiting.push(batch.push({ userId, entry, balance: null }) - 1);
    awaitingBalance.set(userId, waiting);
    // Only a balance emitted in this same tick belongs to this entry.
    queueMicrotask(() => awaitingBalance.delete(userId));
    flushTimer ??= setTimeout(() => void flushUsage(), opts.usageWindowMs ?? USAGE_WINDOW_MS);
  };
  const onThreshold = (e: ThresholdEventDTO) => send(userRoom(e.userId), 'threshold', e);
  const onBlocked = (e: BlockedEventDTO) => send(userRoom(e.userId), 'blocked', e);
  const onRequest = (e: QuotaRequestEventDTO) => send(ADMINS_ROOM, 'request', e);
  const onRequestDecided = (e: QuotaRequestDecidedEventDTO) => send(userRoom(e.request.userId), 'request_decided', e);
  const onNotice = (e: { userId: string; notice: NoticeDTO }) => send(userRoom(e.userId), 'notice', e.notice);

  // Engine event → its handler; subscribed now, unsubscribed by close().
  const listeners = {
    balance: onBalance,
    ledger: onLedger,
    threshold: onThreshold,
    blocked: onBlocked,
    request: onRequest,
    request_decided: onRequestDecided,
    notice: onNotice,
  } satisfies { [K in keyof EngineEvents]?: (...args: EngineEvents[K]) => void };
  // One loop for on and off: each handler's type is checked by the `satisfies` above.
  const each = (f: (event: keyof typeof listeners, fn: never) => void) => {
    for (const event of Object.keys(listeners) as Array<keyof typeof listeners>) f(event, listeners[event] as never);
  };
  each((event, fn) => engine.events.on(event, fn));

  return {
    use(next) {
      sink = next ?? opts.sink;
    },
    close() {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      each((event, fn) => engine.events.off(event, fn));
    },
  };
}
