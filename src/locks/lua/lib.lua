-- Shared helpers, prepended to every script by src/locks/scripts.ts.
-- A lock key is a sorted set of holders (or rate permits) scored by expiry time in Redis server
-- milliseconds; its holders key is a hash member -> holder info JSON. Redis's own clock is used
-- so that workers with skewed clocks agree on expiry and on the rate window.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- RW keys tag the mode so that a reader can tell a writer is in.
local function member_for(kind, owner)
  if kind == 'write' then return 'w:' .. owner end
  if kind == 'read' then return 'r:' .. owner end
  return owner
end

-- Drops holders whose expiry has passed, with their holder info: a crashed holder (reader,
-- writer or limiter slot) stops counting once its TTL runs out. Returns how many were dropped.
local function prune(key, hkey, now)
  local expired = redis.call('ZRANGEBYSCORE', key, '-inf', now)
  if #expired == 0 then return 0 end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  -- unpack() is bounded by the Lua stack, so delete in slices.
  for i = 1, #expired, 1000 do
    redis.call('HDEL', hkey, unpack(expired, i, math.min(i + 999, #expired)))
  end
  return #expired
end

-- Keeps both keys alive exactly as long as their last holder, or deletes them when empty.
-- (Elsewhere the keys' expiry may run past the last holder's, never short of it: a release
-- leaves it, since members are judged by their own scores and the keys go by that expiry.)
local function refresh_expiry(key, hkey)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('DEL', key, hkey)
  else
    redis.call('PEXPIREAT', key, last[2])
    redis.call('PEXPIREAT', hkey, last[2])
  end
end
