-- Free reservations without charging. KEYS[1] reservations hash. ARGV: request ids. Returns how many existed.
return redis.call('HDEL', KEYS[1], unpack(ARGV))
