-- Shared prelude, prepended to reserve.lua, state.lua and settle.lua when the store defines them
-- (redis-quota-store.ts). Local functions only: each script stays one atomic EVALSHA.
--
-- Speed: the whole text (this prelude included) runs on every call. Most of a call's Redis time is the
-- redis.call marshalling (per command and per argument/reply element: the 12-field HMGET alone is ~2.7 µs),
-- so: no per-call tables besides the replies, no string patterns (find/sub), no number-to-string conversions
-- that can be avoided (numbers go back as integer replies), globals used in loops read once into locals.
-- Every script replies with the counter fields in this fixed order (COUNTER_FIELDS in redis-quota-store.ts
-- must match), read with one HMGET: building a Lua table from HGETALL and walking it with pairs() cost more.
-- The reply is ONE string, its parts separated by "\n" (see reply() below): ioredis decodes one bulk string
-- far faster than a 14-element array (a 32-caller EVALSHA loop: 57–69k → 91–99k calls/s, 14–18 → 10–11 µs
-- of Node CPU per call), and Redis builds one reply element instead of fourteen.
local tonumber, find, sub, format, concat, type = tonumber, string.find, string.sub, string.format, table.concat, type
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

-- "status\nreserved\n<the 12 counter fields>[\nextra]". No part can hold a "\n" (plan ids, period keys, numbers,
-- threshold lists, stream ids). Numbers as %d: concatenating a Lua number would print it with 14 significant
-- digits; missing fields (false) as ''.
local function reply(status, reserved, v, extra)
  for i = 1, 12 do
    local x = v[i]
    if not x then v[i] = '' elseif type(x) == 'number' then v[i] = format('%d', x) end
  end
  local s = status .. '\n' .. format('%d', reserved) .. '\n' .. concat(v, '\n')
  if extra then s = s .. '\n' .. extra end
  return s
end

-- Open reservations are requestId -> "amount:expiresAtMs" (split with find/sub: cheaper than a pattern).
-- Sums them and counts them, tells whether `requestId` holds one (and how much), and deletes and reports the expired ones:
-- an expired hold was neither settled nor released — its process may have died between its ledger commit and
-- its settle step — so the caller drops the counter to have it rebuilt from the ledger.
local function purgeReservations(key, now, requestId)
  local res = redis.call('HGETALL', key)
  local reserved, open, mine, expired, mineAmount = 0, 0, false, false, 0
  for i = 2, #res, 2 do
    local s = res[i]
    local p = find(s, ':', 1, true)
    if tonumber(sub(s, p + 1)) <= now then
      redis.call('HDEL', key, res[i - 1])
      expired = true
    else
      local amount = tonumber(sub(s, 1, p - 1))
      reserved = reserved + amount
      open = open + 1
      if res[i - 1] == requestId then
        mine = true
        mineAmount = amount
      end
    end
  end
  return reserved, open, mine, expired, mineAmount
end
