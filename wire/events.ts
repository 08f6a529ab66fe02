import type { BalanceDTO, LedgerEntryDTO } from './balance';
import type { NoticeDTO, QuotaRequestDecidedEventDTO, QuotaRequestEventDTO } from './extras';

/** socket.io events, server → client. Rooms: `user:<id>` for each user, `admins` for admins. */
export const SocketEvents = {
  balance: 'balance',
  threshold: 'threshold',
  ledger: 'ledger',
  blocked: 'blocked',
  usage: 'usage', // admins only: live feed, one entry (older servers)
  usage_batch: 'usage_batch', // admins only: live feed, the entries of a short window (UsageEventDTO[])
  request: 'request', // admins only: a quota request was opened (QuotaRequestEventDTO)
  request_decided: 'request_decided', // the requester: approved / denied (QuotaRequestDecidedEventDTO)
  notice: 'notice', // the user: a grant or a reset (NoticeDTO; also kept for GET /me/notices until seen)
} as const;

export interface ThresholdEventDTO {
  userId: string;
  threshold: number; // 80, 100, ...
  periodKey: string;
  /**
   * When it fired (ISO-8601). A threshold fires once per period and again after an admin reset, so the widget
   * keys a dismissal on (period, threshold, firedAt): the same event twice is one warning, a re-fire is a new one.
   */
  firedAt?: string;
  balance: BalanceDTO;
}

export interface BlockedEventDTO {
  userId: string;
  reason: 'quota_exceeded' | 'too_many_inflight';
  balance: BalanceDTO;
}

export interface UsageEventDTO {
  userId: string;
  email: string | null;
  entry: LedgerEntryDTO;
  balance: BalanceDTO;
}

export interface ServerToClientEvents {
  balance: (b: BalanceDTO) => void;
  threshold: (e: ThresholdEventDTO) => void;
  ledger: (e: LedgerEntryDTO) => void;
  blocked: (e: BlockedEventDTO) => void;
  usage: (e: UsageEventDTO) => void;
  usage_batch: (e: UsageEventDTO[]) => void;
  request: (e: QuotaRequestEventDTO) => void;
  request_decided: (e: QuotaRequestDecidedEventDTO) => void;
  notice: (e: NoticeDTO) => void;
}
