import { createStore } from 'zustand/vanilla';
import type { BalanceDTO, BlockedEventDTO, NoticeDTO, QuotaRequestDecidedEventDTO, ThresholdEventDTO, UsageEventDTO } from '@solaris/wire';

/** A decision shown as a toast: live (with the new balance) or kept from while the user was away (without). */
export type ShownDecision = Omit<QuotaRequestDecidedEventDTO, 'balance'> & { balance?: BalanceDTO };

export interface BlockedNotice {
  reason: BlockedEventDTO['reason'];
  balance: BalanceDTO;
}

/** Live, socket-fed state (balance itself lives in the query cache so REST and socket share it). */
export interface SolarisState {
  /** null while the first connection is still being made (not "stale" yet). */
  connected: boolean | null;
  /** Pending 80%-style warning from the server's `threshold` event. */
  warning: ThresholdEventDTO | null;
  /** Set by a refusal or by reaching 100 %; cleared by acknowledgement or by an unblock. */
  blocked: BlockedNotice | null;
  /** Last few usage events (admins only). */
  feed: UsageEventDTO[];
  statementOpen: boolean;
  adminOpen: boolean;
  /** Admins: pending quota requests (socket `request` events and the last list fetch); null = not known yet. */
  pendingRequests: number | null;
  /** The user's last quota-request decision (socket `request_decided`), shown as a notice until dismissed. */
  decision: ShownDecision | null;
  /** A grant or a reset (socket `notice`, or kept on the server while the user was away), until dismissed. */
  notice: NoticeDTO | null;
  setConnected(v: boolean | null): void;
  showWarning(e: ThresholdEventDTO): void;
  dismissWarning(): void;
  showBlocked(n: BlockedNotice): void;
  clearBlocked(): void;
  pushUsage(e: UsageEventDTO): void;
  setStatementOpen(v: boolean): void;
  setAdminOpen(v: boolean): void;
  setPendingRequests(n: number): void;
  showDecision(e: ShownDecision): void;
  dismissDecision(): void;
  showNotice(n: NoticeDTO): void;
  dismissNotice(): void;
}

export const FEED_SIZE = 50;

export function createSolarisStore() {
  return createStore<SolarisState>()((set) => ({
    connected: null,
    warning: null,
    blocked: null,
    feed: [],
    statementOpen: false,
    adminOpen: false,
    pendingRequests: null,
    decision: null,
    notice: null,
    setConnected: (connected) => set({ connected }),
    // A block outranks a warning: never stack both.
    showWarning: (warning) => set((s) => (s.blocked ? s : { warning })),
    dismissWarning: () => set({ warning: null }),
    showBlocked: (blocked) => set({ blocked, warning: null }),
    clearBlocked: () => set({ blocked: null }),
    pushUsage: (e) => set((s) => ({ feed: [e, ...s.feed].slice(0, FEED_SIZE) })),
    setStatementOpen: (statementOpen) => set({ statementOpen }),
    setAdminOpen: (adminOpen) => set({ adminOpen }),
    setPendingRequests: (pendingRequests) => set({ pendingRequests }),
    showDecision: (decision) => set({ decision }),
    dismissDecision: () => set({ decision: null }),
    showNotice: (notice) => set({ notice }),
    dismissNotice: () => set({ notice: null }),
  }));
}
export type SolarisStore = ReturnType<typeof createSolarisStore>;
