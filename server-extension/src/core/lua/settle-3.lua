-- Settle with the ledger ack: the row is already durable in the ledger; count it once (includes/settle.lua).
-- KEYS[1] counter hash   KEYS[2] reservations hash   KEYS[3] settled marker sq:{u}:s:<requestId>
-- ARGV: requestId, weightedTokens, periodKey of the ledger row, nowMs, markerTtlMs, occurredAtMs, release ('' = none)
--- @include "counter"
--- @include "settle"
return settle(false, false, ARGV[7])
