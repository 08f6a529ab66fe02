-- Record a settlement whose counter cannot be rebuilt now (Postgres down): append it to the user's outbox stream
-- without counting it. The rebuild (which needs Postgres) writes the stream to the ledger first and then sums
-- the ledger, so the row is counted then, once. (docs/architecture.md, "One outbox")
-- KEYS[1] counter hash   KEYS[2] rebuild lock   KEYS[3] settled marker   KEYS[4] the user's outbox stream sq:{u}:o
-- ARGV[1] row JSON   ARGV[2] marker TTL ms
-- Returns 'RETRY' (a counter exists now: settle normally), 'LOCKED' (a rebuild is running: it may already have
-- read the stream, so wait for it), 'already' (the marker says it was recorded), or the new entry id.
if redis.call('EXISTS', KEYS[1]) == 1 then return 'RETRY' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'LOCKED' end
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[2]) then return 'already' end
return redis.call('XADD', KEYS[4], '*', 'j', ARGV[1])
