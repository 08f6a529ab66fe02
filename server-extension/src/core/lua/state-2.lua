-- Read the counter and the sum of open reservations, purging expired ones.
-- KEYS[1] counter hash   KEYS[2] reservations hash   ARGV: nowMs
--- @include "counter"
--- @include "reservations"
local now = tonumber(ARGV[1])
local v = readCounter(KEYS[1], now)
if not v then return 'MISSING' end
local reserved, _, _, expired = purgeReservations(KEYS[2], now, nil)
if expired then
  -- Rebuild from the ledger (see includes/reservations.lua).
  redis.call('DEL', KEYS[1])
  return 'MISSING'
end
return reply('ok', reserved, v)
