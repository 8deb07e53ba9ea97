-- Releases the locks an owner holds; another owner's holds are untouched.
-- KEYS[2i-1], KEYS[2i]: lock key and holders key of lock i.
-- ARGV[1] owner id, ARGV[1+i] kind of lock i (never 'rate': permits are consumed, not returned).
-- Returns how many holds were released.

local owner = ARGV[1]
local released = 0
for i = 1, #KEYS / 2 do
  local key, hkey = KEYS[2 * i - 1], KEYS[2 * i]
  local m = member_for(ARGV[1 + i], owner)
  released = released + redis.call('ZREM', key, m)
  redis.call('HDEL', hkey, m)
  -- The keys' expiry already covers every remaining holder (each hold pushed it out to its own
  -- expiry at least), so only an empty lock needs a write.
  if redis.call('ZCARD', key) == 0 then redis.call('DEL', key, hkey) end
end
return released
