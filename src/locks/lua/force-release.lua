-- Operator override: drops every holder of one lock or limiter, whoever holds it.
-- KEYS[1] lock key, KEYS[2] its holders key. Returns how many live holders there were.

local now = now_ms()
prune(KEYS[1], KEYS[2], now)
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
