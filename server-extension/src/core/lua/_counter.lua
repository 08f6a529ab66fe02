-- Shared prelude, prepended to reserve.lua, state.lua and settle.lua when the store defines them
-- (redis-quota-store.ts). Local functions only: each script stays one atomic EVALSHA.
--
-- Speed: the whole text (this prelude included) runs on every call. Most of a call's Redis time is the
-- redis.call marshalling (per command and per argument/reply element: the 12-field HMGET alone is ~2.7 µs),
-- so: no per-call tables besides the replies, no string patterns (find/sub), no number-to-string conversions
-- that can be avoided (numbers go back as integer replies), globals used in loops read once into locals.
-- Every script replies with the counter fields in this fixed order (COUNTER_FIELDS in redis-quota-store.ts
-- must match), read with one HMGET: building a Lua table from HGETALL and walking it with pairs() cost more.
local tonumber, find, sub = tonumber, string.find, string.sub
local PK, PS, PE, LIM, GR, USED, NE = 3, 4, 5, 6, 7, 8, 9

-- The user's counter fields (HMGET order), or nil when it must be rebuilt from Postgres first: missing
-- (restart, eviction, FLUSHALL, or written by an older version without these fields), its period is over,
-- or a grant in it has expired.
local function readCounter(key, now)
  local v = redis.call('HMGET', key, 'pl', 'pkd', 'pk', 'ps', 'pe', 'lim', 'gr', 'used', 'ne', 'cap', 'wp', 'fd')
  if not v[PE] or not v[USED] or not v[LIM] or not v[GR] or now >= tonumber(v[PE]) then return nil end
  local ne = v[NE] and tonumber(v[NE])
  if ne and ne > 0 and now >= ne then return nil end
  return v
end

-- Open reservations are requestId -> "amount:expiresAtMs" (split with find/sub: cheaper than a pattern).
-- Sums them and counts them, tells whether `requestId` holds one, and deletes and reports the expired ones:
-- an expired hold was neither settled nor released — its process may have died between its ledger commit and
-- its settle step — so the caller drops the counter to have it rebuilt from the ledger.
local function purgeReservations(key, now, requestId)
  local res = redis.call('HGETALL', key)
  local reserved, open, mine, expired = 0, 0, false, false
  for i = 2, #res, 2 do
    local s = res[i]
    local p = find(s, ':', 1, true)
    if tonumber(sub(s, p + 1)) <= now then
      redis.call('HDEL', key, res[i - 1])
      expired = true
    else
      reserved = reserved + tonumber(sub(s, 1, p - 1))
      open = open + 1
      if res[i - 1] == requestId then mine = true end
    end
  end
  return reserved, open, mine, expired
end
