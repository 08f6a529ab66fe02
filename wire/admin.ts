import type { BalanceDTO, PeriodKind } from './balance';

/** What the admin screens read: plans, users, adjustments, the audit log. */

export interface PlanDTO {
  id: string;
  name: string;
  tokenLimit: number;
  period: PeriodKind;
  isDefault: boolean;
  /** Model glob → token multiplier for this plan's users, first match wins; beats the deployment weights. */
  modelWeights: Record<string, number>;
}

export interface AdminUserDTO {
  userId: string;
  email: string | null;
  name: string | null;
  role: string | null;
  lastSeenAt: string | null;
  planId: string | null;
  limitOverride: number | null;
  balance: BalanceDTO;
}

export interface AdminUsersPageDTO {
  items: AdminUserDTO[];
  total: number;
}

export interface AdjustmentDTO {
  id: string;
  userId: string;
  kind: 'grant' | 'reset';
  tokens: number;
  periodKey: string;
  reason: string | null;
  expiresAt: string | null;
  createdBy: string | null;
  createdAt: string;
}

export interface AuditEntryDTO {
  id: string;
  actorId: string;
  actorEmail: string | null;
  action: string; // e.g. 'grant', 'reset', 'plan.assign', 'plan.upsert', 'limit.override'
  targetUserId: string | null;
  /** The target's e-mail as LibreChat last told us (users_cache); null when unknown or no target. */
  targetEmail?: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}
