-- Shared prelude, prepended to reserve.lua, state.lua and settle.lua when the store defines them
-- (redis-quota-store.ts). Local functions only: each script stays one atomic EVALSHA.
--
-- Speed: every script replies with the counter fields in this fixed order (COUNTER_FIELDS in
-- redis-quota-store.ts must match), read with one HMGET. Building a Lua table from HGETALL and walking it
-- with pairs() cost more Redis time than the commands themselves (INFO commandstats: ~33 µs per call
-- against ~4 µs for a one-command script on the same box).
local FIELDS = {'pl', 'pkd', 'pk', 'ps', 'pe', 'lim', 'gr', 'used', 'ne', 'cap', 'wp', 'fd'}
local PK, PS, PE, LIM, GR, USED, NE = 3, 4, 5, 6, 7, 8, 9

-- The user's counter fields (HMGET order), or nil when it must be rebuilt from Postgres first: missing
-- (restart, eviction, FLUSHALL, or written by an older version without these fields), its period is over,
-- or a grant in it has expired.
local function readCounter(key, now)
  local v = redis.call('HMGET', key, unpack(FIELDS))
  if not v[PE] or not v[USED] or not v[LIM] or not v[GR] then return nil end
  local ne = tonumber(v[NE] or '0') or 0
  if now >= tonumber(v[PE]) or (ne > 0 and now >= ne) then return nil end
  return v
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
