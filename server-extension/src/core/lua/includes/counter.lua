-- The counter prelude of reserve-2, state-2, settle-3 and settleOutbox-4 (inlined by scripts.ts where a script says
-- `--- @include "counter"`). Local functions only: each script stays one atomic EVALSHA.
--
-- Speed: the whole text (this prelude included) runs on every call. Most of a call's Redis time is the
-- redis.call marshalling (per command and per argument/reply element: the 12-field HMGET alone is ~2.7 µs),
-- so: no per-call tables besides the replies, no string patterns (find/sub), no number-to-string conversions
-- that can be avoided (numbers go back as integer replies), globals used in loops read once into locals.
-- Every script replies with the counter fields in one fixed order, read with one HMGET: building a Lua table
-- from HGETALL and walking it with pairs() cost more. That order is COUNTER_FIELDS in lua/reply.ts, the one
-- list: the "counterFields" include below is generated from it (HMGET list, field positions PK, USED, …,
-- NFIELDS) and the TypeScript parser reads the reply by the same list.
-- The reply is ONE string, its parts separated by "\n" (see reply() below): ioredis decodes one bulk string
-- far faster than a 14-element array (a 32-caller EVALSHA loop: 57–69k → 91–99k calls/s, 14–18 → 10–11 µs
-- of Node CPU per call), and Redis builds one reply element instead of fourteen.
--- @include "counterFields"
local tonumber, find, sub, format, concat, type = tonumber, string.find, string.sub, string.format, table.concat, type

-- The user's counter fields (COUNTER_FIELDS order), or nil when it must be rebuilt from Postgres first: missing
-- (restart, eviction, FLUSHALL, or written by an older version without these fields), its period is over,
-- or a grant in it has expired.
local function readCounter(key, now)
  local v = hmgetCounter(key)
  if not v[PE] or not v[USED] or not v[LIM] or not v[GR] or now >= tonumber(v[PE]) then return nil end
  local ne = v[NE] and tonumber(v[NE])
  if ne and ne > 0 and now >= ne then return nil end
  return v
end

-- "status\nreserved\n<the NFIELDS counter fields>[\nextra]". No part can hold a "\n" (plan ids, period keys,
-- numbers, threshold lists, stream ids). Numbers as %d: concatenating a Lua number would print it with 14
-- significant digits; missing fields (false) as ''.
local function reply(status, reserved, v, extra)
  for i = 1, NFIELDS do
    local x = v[i]
    if not x then v[i] = '' elseif type(x) == 'number' then v[i] = format('%d', x) end
  end
  local s = status .. '\n' .. format('%d', reserved) .. '\n' .. concat(v, '\n')
  if extra then s = s .. '\n' .. extra end
  return s
end
