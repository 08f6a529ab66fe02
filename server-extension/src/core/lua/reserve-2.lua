-- Reserve up to `estimate` weighted tokens for one request, atomically.
-- KEYS[1] counter hash sq:{u}:c   KEYS[2] reservations hash sq:{u}:r (requestId -> "amount:expiresAtMs")
-- ARGV: requestId, estimate, nowMs, ttlMs, maxInflight[, minimum]
-- "Reserve up to" (docs/reservation-policy.md): when `minimum` (≤ estimate) fits in what is available, the hold is
-- min(estimate, available); without it, minimum = estimate (all or nothing).
-- Returns "status\nreserved\ncounter fields\nheld" (reply() in includes/counter.lua); 'MISSING' means:
-- rebuild the counter from Postgres, then retry.
--- @include "counter"
--- @include "reservations"
local now = tonumber(ARGV[3])
local v = readCounter(KEYS[1], now)
if not v then return 'MISSING' end

local reserved, open, mine, expired, mineAmount = purgeReservations(KEYS[2], now, ARGV[1])
if expired then
  -- Rebuilt before this decision; the purged holds are gone, so the retry does not come back here.
  redis.call('DEL', KEYS[1])
  return 'MISSING'
end

local status = 'reserved'
local estimate = tonumber(ARGV[2])
local minimum = estimate
if ARGV[6] and ARGV[6] ~= '' then minimum = tonumber(ARGV[6]) end
local held = estimate
local available = tonumber(v[LIM]) + tonumber(v[GR]) - tonumber(v[USED]) - reserved
if mine then
  status = 'already_reserved'
  held = mineAmount
elseif open >= tonumber(ARGV[5]) then
  status = 'too_many_inflight'
elseif available <= 0 or minimum > available then
  status = 'quota_exceeded'
else
  if estimate > available then held = available end
  local ttl = tonumber(ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[1], format('%d', held) .. ':' .. (now + ttl))
  -- The hash lives as long as its longest hold: a first hold sets the TTL, later ones only extend it (GT),
  -- which saves the PTTL read.
  if open == 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
  else
    redis.call('PEXPIRE', KEYS[2], ttl, 'GT')
  end
  reserved = reserved + held
end
return reply(status, reserved, v, format('%d', held))
