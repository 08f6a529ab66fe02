-- Install a counter rebuilt from Postgres, and mark recently settled request ids as counted.
-- KEYS[1] counter hash, KEYS[2..n] settled markers of requests already included in `used`.
-- ARGV[1] counter TTL ms, ARGV[2] marker TTL ms, ARGV[3..] field/value pairs.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], '1', 'PX', ARGV[2])
end
return 1
