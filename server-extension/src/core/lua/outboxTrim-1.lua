-- Remove the drained entries from one user's outbox stream and delete the stream once it is empty: an empty
-- stream is a key that would stay forever (and be found by every sweep). Atomic with the settle script's XADD,
-- so a row appended in between is never deleted with the key.
-- KEYS[1] sq:{u}:o   ARGV: the entry ids written to the ledger. Returns the entries left.
redis.call('XDEL', KEYS[1], unpack(ARGV))
local left = redis.call('XLEN', KEYS[1])
if left == 0 then redis.call('DEL', KEYS[1]) end
return left
