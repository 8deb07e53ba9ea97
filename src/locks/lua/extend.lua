-- Extends every lock an owner holds; reports the ones it no longer holds.
-- KEYS[2i-1], KEYS[2i]: lock key and holders key of lock i.
-- ARGV[1] owner id, ARGV[2] TTL (ms), ARGV[2+i] kind of lock i (never 'rate': permits are not held).
-- Returns the indexes of the locks that were lost (expired, or force-released).

local owner = ARGV[1]
local ttl = tonumber(ARGV[2])
local now = now_ms()
local lost = {}
for i = 1, #KEYS / 2 do
  local key, hkey = KEYS[2 * i - 1], KEYS[2 * i]
  local m = member_for(ARGV[2 + i], owner)
  prune(key, hkey, now)
  if redis.call('ZSCORE', key, m) then
    redis.call('ZADD', key, 'XX', now + ttl, m)
    refresh_expiry(key, hkey)
  else
    lost[#lost + 1] = i
  end
end
return lost
