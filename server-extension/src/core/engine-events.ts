import type {
  BalanceDTO,
  BlockedEventDTO,
  LedgerEntryDTO,
  NoticeDTO,
  QuotaRequestEventDTO,
  QuotaRequestDecidedEventDTO,
  ThresholdEventDTO,
} from '@solaris/wire';

/** Events the engine emits after each state change; the realtime adapter forwards them to socket rooms. */
export interface EngineEvents {
  balance: [BalanceDTO];
  threshold: [ThresholdEventDTO];
  ledger: [{ userId: string; entry: LedgerEntryDTO }];
  blocked: [BlockedEventDTO];
  /** A quota request was opened (admins' room; core/quota-requests.ts). */
  request: [QuotaRequestEventDTO];
  /** A quota request was approved/denied (the requester's room). */
  request_decided: [QuotaRequestDecidedEventDTO];
  /** A grant or a reset by an admin (the user's room); stored in user_notices until seen. */
  notice: [{ userId: string; notice: NoticeDTO }];
}
