-- Reserve `estimate` weighted tokens for one request, atomically.
-- KEYS[1] counter hash sq:{u}:c   KEYS[2] reservations hash sq:{u}:r (requestId -> "amount:expiresAtMs")
-- ARGV: requestId, estimate, nowMs, ttlMs, maxInflight
-- Returns {status, reserved, counter fields...}; status MISSING means: rebuild the counter from Postgres, then retry.
local c = redis.call('HGETALL', KEYS[1])
if #c == 0 then return {'MISSING'} end
local h = {}
for i = 1, #c, 2 do h[c[i]] = c[i + 1] end
local now = tonumber(ARGV[3])
local ne = tonumber(h.ne or '0')
if now >= tonumber(h.pe) or (ne > 0 and now >= ne) then return {'MISSING'} end

-- Purge expired reservations (a crashed request frees its hold) and sum the open ones.
-- An expired hold means its request was neither settled nor released: its process may have died after
-- the ledger commit and before the settle step. Drop the counter so it is rebuilt from the ledger (the
-- record) before this decision; the purged holds are gone, so the retry does not come back here.
local res = redis.call('HGETALL', KEYS[2])
local reserved, open, mine, expired = 0, 0, false, false
for i = 1, #res, 2 do
  local amount, expires = string.match(res[i + 1], '^(%d+):(%d+)$')
  if tonumber(expires) <= now then
    redis.call('HDEL', KEYS[2], res[i])
    expired = true
  else
    reserved = reserved + tonumber(amount)
    open = open + 1
    if res[i] == ARGV[1] then mine = true end
  end
end

if expired then
  redis.call('DEL', KEYS[1])
  return {'MISSING'}
end

local status = 'reserved'
local estimate = tonumber(ARGV[2])
local available = tonumber(h.lim) + tonumber(h.gr) - tonumber(h.used) - reserved
if mine then
  status = 'already_reserved'
elseif open >= tonumber(ARGV[5]) then
  status = 'too_many_inflight'
elseif available <= 0 or estimate > available then
  status = 'quota_exceeded'
else
  local ttl = tonumber(ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[1], estimate .. ':' .. (now + ttl))
  if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
  reserved = reserved + estimate
end
return {status, tostring(reserved), unpack(c)}
