-- Remember that a threshold fired in this period (cache of threshold_notifications).
-- KEYS[1] counter hash. ARGV: periodKey, threshold. Only touches the counter of that period.
if redis.call('HGET', KEYS[1], 'pk') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'f' .. ARGV[2], '1')
end
return 1
