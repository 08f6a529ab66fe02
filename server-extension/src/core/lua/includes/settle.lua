-- Apply one settled request to the counter, exactly once: the body of settle-3.lua (ledger ack) and
-- settleOutbox-4.lua (outbox ack). Needs the "counter" include first.
-- KEYS[1] counter hash   KEYS[2] reservations hash   KEYS[3] settled marker sq:{u}:s:<requestId>
-- ARGV: requestId, weightedTokens, periodKey of the ledger row, nowMs, markerTtlMs, occurredAtMs, then the script's own
-- `outbox` (false for the ledger ack): the user's outbox stream, where `row` is appended in the same atomic step
-- that sets the marker and moves the counter — counted iff recorded.
-- periodKey '' = not known (the row is not in the ledger yet): the row belongs to this counter's period when
-- occurredAtMs lies in [ps, pe) — the same rule the ledger's period key follows.
-- Returns "status\nreserved\ncounter fields[\nthe outbox entry id when this call appended the row]" (reply() in
-- the counter include; 'MISSING': rebuild first): the caller writes that entry to the ledger from memory
-- (write-behind) and deletes it by id.
-- `release` ('' = none): another hold this settlement ends (the LibreChat gate's hold of the turn), freed here so the
-- turn costs one script; freed on a replay too (HDEL of a freed hold is a no-op).
local function settle(outbox, row, release)
  local now = tonumber(ARGV[4])
  local v = readCounter(KEYS[1], now)
  if not v then return 'MISSING' end

  if release and release ~= '' and release ~= ARGV[1] then
    redis.call('HDEL', KEYS[2], ARGV[1], release)
  else
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
  local status = 'already'
  local entry = false
  -- The marker makes a replay (retry, or a racing rebuild that already counted the row) a no-op.
  if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[5]) then
    status = 'settled'
    if outbox then entry = redis.call('XADD', outbox, '*', 'j', row) end
    -- A row of another period (settled late, after the counter rolled over) does not touch this one.
    local same = ARGV[3] == v[PK]
    local occ = tonumber(ARGV[6] or '')
    if ARGV[3] == '' then
      same = occ ~= nil and occ >= tonumber(v[PS]) and occ < tonumber(v[PE])
    end
    -- A row dated at or before the period's last reset was wiped by it, whenever it arrives (a turn that started
    -- before an admin's reset and was recorded after it): the rule of the ledger sum the counter is rebuilt from
    -- and of the statement. Counters without 'rs' (no reset, or built by an older version) skip nothing.
    if same and occ then
      local rs = redis.call('HGET', KEYS[1], 'rs')
      if rs and rs ~= '' and occ <= tonumber(rs) then same = false end
    end
    if same then
      v[USED] = redis.call('HINCRBY', KEYS[1], 'used', ARGV[2])
    end
  end
  -- The holds still open (expired ones are not counted; reserve/state purge them). Values only: HVALS.
  local res = redis.call('HVALS', KEYS[2])
  local reserved = 0
  for i = 1, #res do
    local s = res[i]
    local p = find(s, ':', 1, true)
    if tonumber(sub(s, p + 1)) > now then reserved = reserved + tonumber(sub(s, 1, p - 1)) end
  end
  return reply(status, reserved, v, entry)
end
