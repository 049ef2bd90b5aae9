// The Lua twins of LocalCounterStore's three algorithms. Each runs atomically in Redis, so
// every node sees one counter per key; the arithmetic is the local store's, step for step,
// so both stores answer identically (the contract suite in test/limits/ holds them to it).
//
// Numbers cross the Lua boundary as %.17g strings: Redis truncates Lua numbers in replies
// to integers and older versions format arguments with 14 digits, either of which would
// make a retry-after of 333.33 ms differ from the local store's.

const common = `
local function fmt(x) return string.format('%.17g', x) end
local key = KEYS[1]
local now = tonumber(ARGV[1])
local consume = ARGV[2] == '1'
-- Stale state of another algorithm (a reload switched it) counts as none; replaced only when consuming.
local function current(kind)
  local t = redis.call('TYPE', key).ok
  if t == 'none' then return false end
  if kind == 'log' and t == 'zset' then return true end
  if kind ~= 'log' and t == 'hash' and redis.call('HGET', key, 'kind') == kind then return true end
  if consume then redis.call('DEL', key) end
  return false
end
`;

/** ARGV: now, consume, limit, windowMs, member, slackMs. One sorted-set member per admitted request. */
export const slidingLogLua = `${common}
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local count = 0
if current('log') then
  redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now - window))
  count = redis.call('ZCARD', key)
end
if count >= limit then
  local oldest = tonumber(redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')[2])
  local newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
  return {0, 0, fmt(newest + window - now), fmt(oldest + window - now), count}
end
if consume then
  redis.call('ZADD', key, fmt(now), ARGV[5])
  redis.call('PEXPIRE', key, window + tonumber(ARGV[6]))
end
count = count + 1
return {1, limit - count, fmt(window), '0', count}
`;

/** ARGV: now, consume, limit, windowMs, slackMs. Debt in ticks of 1/limit ms, as in the local store. */
export const gcraLua = `${common}
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local at0, debt0, limit0 = now, 0, limit
if current('gcra') then
  local s = redis.call('HMGET', key, 'at', 'debt', 'limit')
  at0, debt0, limit0 = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
end
local owed = debt0
if limit0 ~= limit then owed = debt0 * limit / limit0 end
local at = math.max(at0, now)
local debt = math.max(0, owed - (at - at0) * limit)
local capacity = window * limit
local newDebt = debt + window
if newDebt > capacity then
  local used = math.min(limit, math.ceil(debt / window))
  local ahead = at - now
  return {0, 0, fmt(ahead + debt / limit), fmt(ahead + (newDebt - capacity) / limit), used}
end
if consume then
  redis.call('HSET', key, 'kind', 'gcra', 'at', fmt(at), 'debt', fmt(newDebt), 'limit', fmt(limit))
  redis.call('PEXPIRE', key, math.ceil(at - now + newDebt / limit) + tonumber(ARGV[5]))
end
local remaining = math.floor((capacity - newDebt) / window)
return {1, remaining, fmt(at - now + newDebt / limit), '0', limit - remaining}
`;

/** ARGV: now, consume, limit, periodEnd, slackMs. */
export const quotaLua = `${common}
local limit = tonumber(ARGV[3])
local periodEnd = tonumber(ARGV[4])
local used, pe = 0, periodEnd
if current('quota') then
  local s = redis.call('HMGET', key, 'used', 'periodEnd')
  used, pe = tonumber(s[1]), tonumber(s[2])
end
if pe <= now then used, pe = 0, periodEnd end
local resetMs = pe - now
if used >= limit then return {0, 0, fmt(resetMs), fmt(resetMs), used} end
if consume then
  used = used + 1
  redis.call('HSET', key, 'kind', 'quota', 'used', used, 'periodEnd', fmt(pe))
  redis.call('PEXPIRE', key, math.ceil(resetMs) + tonumber(ARGV[5]))
  return {1, limit - used, fmt(resetMs), '0', used}
end
return {1, limit - used - 1, fmt(resetMs), '0', used + 1}
`;
