-- Settle with the outbox ack (SOLARIS_SETTLE_ACK=outbox): append the row to the user's outbox stream and count it,
-- in one atomic step (includes/settle.lua); the reply ends with the new entry id when this call appended it.
-- KEYS[1] counter hash   KEYS[2] reservations hash   KEYS[3] settled marker   KEYS[4] the user's outbox stream sq:{u}:o
-- ARGV: requestId, weightedTokens, periodKey ('' = not known), nowMs, markerTtlMs, occurredAtMs, rowJson, release ('' = none)
--- @include "counter"
--- @include "settle"
return settle(KEYS[4], ARGV[7], ARGV[8])
