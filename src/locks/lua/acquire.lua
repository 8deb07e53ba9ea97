-- Takes every lock of a task or none of them.
-- KEYS[2i-1], KEYS[2i]: lock key and holders key of lock i.
-- ARGV[1] owner id, ARGV[2] TTL (ms), ARGV[3] holder info: a JSON object without its closing
-- brace, ending with the key "acquiredAt": (the script appends the time, so no JSON is parsed),
-- then four per lock i from ARGV[4i]: kind, limit, window (ms), permits ('' when not relevant).
-- Returns {1, now} when all are held, or {0, i, wait_ms} naming the first lock that blocks and
-- the worst-case wait until it can clear.

local owner = ARGV[1]
local ttl = tonumber(ARGV[2])
local now = now_ms()
local n = #KEYS / 2

local function arg(i, k) return ARGV[4 * i + k - 1] end

-- Phase 1 only looks (pruning expired holders changes nothing anyone holds), so a refusal
-- leaves no partial hold and consumes no rate permit.
-- Holders per lock after pruning: phase 2 sets a fresh key's expiry without reading it back.
local counts = {}
for i = 1, n do
  local key, hkey = KEYS[2 * i - 1], KEYS[2 * i]
  local kind = arg(i, 1)
  local count = redis.call('ZCARD', key)
  if count > 0 then count = count - prune(key, hkey, now) end
  counts[i] = count
  local mine = count > 0 and redis.call('ZSCORE', key, member_for(kind, owner))
  local wait = nil
  if kind == 'mutex' or kind == 'write' then
    if count > (mine and 1 or 0) then
      wait = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) - now
    end
  elseif kind == 'read' then
    -- A writer only gets in when the key is empty, so if one holds it, it is the only member.
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if first[1] and string.sub(first[1], 1, 2) == 'w:' then wait = tonumber(first[2]) - now end
  elseif kind == 'concurrency' then
    if not mine and count >= tonumber(arg(i, 2)) then
      wait = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]) - now
    end
  elseif kind == 'rate' then
    local limit, permits = tonumber(arg(i, 2)), tonumber(arg(i, 4))
    if count + permits > limit then
      -- Room appears when this many of the oldest permits have left the window.
      local idx = count + permits - limit - 1
      wait = tonumber(redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')[2]) - now
    end
  else
    return redis.error_reply('unknown lock kind ' .. tostring(kind))
  end
  if wait then return {0, i, math.max(0, wait)} end
end

local info = ARGV[3] .. now .. '}'

for i = 1, n do
  local key, hkey = KEYS[2 * i - 1], KEYS[2 * i]
  local kind = arg(i, 1)
  local expires
  if kind == 'rate' then
    expires = now + tonumber(arg(i, 3))
    for p = 1, tonumber(arg(i, 4)) do
      local m = owner .. ':' .. now .. ':' .. p
      local s = 0
      while redis.call('ZSCORE', key, m) do
        s = s + 1
        m = owner .. ':' .. now .. ':' .. p .. '.' .. s
      end
      redis.call('ZADD', key, expires, m)
      redis.call('HSET', hkey, m, info)
    end
  else
    local m = member_for(kind, owner)
    expires = now + ttl
    redis.call('ZADD', key, expires, m)
    -- Re-acquiring by the same owner refreshes the TTL but keeps the original acquisition time.
    redis.call('HSETNX', hkey, m, info)
  end
  if counts[i] == 0 then
    -- Nobody else holds it: the new hold's expiry is the keys' expiry.
    redis.call('PEXPIREAT', key, expires)
    redis.call('PEXPIREAT', hkey, expires)
  else
    refresh_expiry(key, hkey)
  end
end
return {1, now}
