-- Open reservations (reserve-2, state-2). Needs the "counter" include first (find, sub, tonumber).
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
