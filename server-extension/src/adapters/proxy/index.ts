/** Metering proxy: OpenAI-compatible gate in front of LiteLLM (issue 3). Mount `createMeteringProxy` on /v1. */
export type { AdmittedTurn } from './context';
export { createMeteringProxy, withStreamUsage, type MeteringProxy, type MeteringProxyOptions, type NodeHandler } from './metering-proxy';
export { createHealthHandlers, type HealthHandlers, type HealthOptions } from './health';
export { quotaExceededBody, openAIError, type OpenAIErrorBody } from './http-errors';
export { createServiceKeyCheck, readCaller, requestIdFor, type Caller } from './identity';
export { SseMeter, answerText, type UpstreamUsage } from './sse-meter';
export { countTextTokens, estimatePromptTokens, encodingFor } from './tokens';
export { checkRequest, normaliseLabel, upstreamBody, type CheckedRequest } from './request-check';
export { createIdempotencyStore, type IdempotencyStore } from './idempotency';
export { createMetrics, type Metrics, type MetricsOptions } from '../metrics';
