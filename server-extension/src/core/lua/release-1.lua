-- Free one reservation without charging. KEYS[1] reservations hash. ARGV: requestId. Returns 1 if it existed.
return redis.call('HDEL', KEYS[1], ARGV[1])
