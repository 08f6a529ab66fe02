-- Remember that a threshold fired in this period (cache of threshold_notifications, field fd = "80,100").
-- KEYS[1] counter hash. ARGV: periodKey, threshold. Only touches the counter of that period.
local v = redis.call('HMGET', KEYS[1], 'pk', 'fd')
if v[1] == ARGV[1] then
  local fd = v[2] or ''
  if not string.find(',' .. fd .. ',', ',' .. ARGV[2] .. ',', 1, true) then
    redis.call('HSET', KEYS[1], 'fd', fd == '' and ARGV[2] or (fd .. ',' .. ARGV[2]))
  end
end
return 1
