-- Read the counter and the sum of open reservations (purging expired ones).
-- KEYS[1] counter hash   KEYS[2] reservations hash   ARGV: nowMs
local c = redis.call('HGETALL', KEYS[1])
if #c == 0 then return {'MISSING'} end
local h = {}
for i = 1, #c, 2 do h[c[i]] = c[i + 1] end
local now = tonumber(ARGV[1])
local ne = tonumber(h.ne or '0')
if now >= tonumber(h.pe) or (ne > 0 and now >= ne) then return {'MISSING'} end
local res = redis.call('HGETALL', KEYS[2])
local reserved, expired = 0, false
for i = 1, #res, 2 do
  local amount, expires = string.match(res[i + 1], '^(%d+):(%d+)$')
  if tonumber(expires) <= now then
    redis.call('HDEL', KEYS[2], res[i])
    expired = true
  else
    reserved = reserved + tonumber(amount)
  end
end
-- An expired hold may belong to a process that died between its ledger commit and its settle step:
-- rebuild the counter from the ledger (see reserve.lua).
if expired then
  redis.call('DEL', KEYS[1])
  return {'MISSING'}
end
return {'ok', tostring(reserved), unpack(c)}
