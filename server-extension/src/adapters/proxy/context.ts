import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Logger } from '../../core/logger';
import type { Metrics } from '../metrics';
import type { Caller } from './identity';
import type { CheckedRequest } from './request-check';
import type { StoredAnswer } from './idempotency';

/** What every piece of the proxy shares: the engine, configuration and observability. */
export interface ProxyContext {
  engine: QuotaEngine;
  config: SolarisConfig;
  logger?: Logger;
  metrics?: Metrics;
  /** The logger when debug is on, else undefined (debug lines cost nothing when off). */
  debug?: Logger;
  /** Settle into the ledger (true) or only gate: reserve, then release (false). */
  writesLedger: boolean;
  /** See MeteringProxyOptions.admittedTurn. */
  admittedTurn?: AdmittedTurn;
}

/**
 * A turn of this user that a gate in this process already admitted and holds tokens for (the LibreChat plugin's
 * chat gate), with the completion tokens that hold covers; null: none. LibreChat calls our proxy for that turn.
 */
export type AdmittedTurn = (userId: string, conversationId: string | null) => { completionTokens: number } | null;

export type RouteKind = 'chat' | 'completions' | 'embeddings' | 'models';
/** The routes that reserve and settle. */
export type MeteredKind = Exclude<RouteKind, 'models'>;

/** Everything a metered request carries from pre-flight to settlement. */
export interface Metered {
  kind: MeteredKind;
  requestId: string;
  caller: Caller;
  model: string;
  promptEstimate: number;
  /** The plan the request was reserved under (its model weights apply to the settlement); undefined: not reserved. */
  planId?: string | null;
  /** false when the quota store failed and SOLARIS_FAIL_MODE=open let the request through. */
  metered: boolean;
  /** Called once, by settleLater (something was served) or releaseLater (nothing charged): the replay record follows it. */
  onFate?: (fate: 'settled' | 'released') => void;
  fated?: boolean;
  /** The answer as sent (non-streamed), for the replay record. */
  answer?: StoredAnswer;
}

/** What the pre-flight hands to the upstream call. */
export interface Pre {
  m: Metered;
  c: CheckedRequest;
  json: Record<string, unknown>;
  /** Completion tokens per choice the reservation covers (the limit forwarded); null: none (embeddings). */
  perChoice: number | null;
}
