-- Read-only snapshot of locks for listing.
-- KEYS[2i-1], KEYS[2i]: lock key and holders key of lock i.
-- Returns {now, {members and scores of lock 1, holder hash of lock 1}, ...}; expired holders are
-- left for the caller to skip so that listing never writes.

local out = {now_ms()}
for i = 1, #KEYS / 2 do
  out[#out + 1] = {
    redis.call('ZRANGE', KEYS[2 * i - 1], 0, -1, 'WITHSCORES'),
    redis.call('HGETALL', KEYS[2 * i]),
  }
end
return out
