-- Shared prelude, prepended to reserve.lua, state.lua and settle.lua when the store defines them
-- (redis-quota-store.ts). Local functions only: each script stays one atomic EVALSHA.

-- The user's counter hash as a table, or nil when it must be rebuilt from Postgres first: missing
-- (restart, eviction, FLUSHALL), its period is over, or a grant in it has expired.
local function readCounter(key, now)
  local c = redis.call('HGETALL', key)
  if #c == 0 then return nil end
  local h = {}
  for i = 1, #c, 2 do h[c[i]] = c[i + 1] end
  local ne = tonumber(h.ne or '0')
  if now >= tonumber(h.pe) or (ne > 0 and now >= ne) then return nil end
  return h, c
end

-- Sums the open reservations (requestId -> "amount:expiresAtMs"). With `purge`, expired ones are deleted
-- and reported: an expired hold was neither settled nor released — its process may have died between its
-- ledger commit and its settle step — so the caller drops the counter to have it rebuilt from the ledger.
local function sumReservations(key, now, purge, requestId)
  local res = redis.call('HGETALL', key)
  local reserved, open, mine, expired = 0, 0, false, false
  for i = 1, #res, 2 do
    local amount, expires = string.match(res[i + 1], '^(%d+):(%d+)$')
    if tonumber(expires) <= now then
      if purge then
        redis.call('HDEL', key, res[i])
        expired = true
      end
    else
      reserved = reserved + tonumber(amount)
      open = open + 1
      if res[i] == requestId then mine = true end
    end
  end
  return reserved, open, mine, expired
end
