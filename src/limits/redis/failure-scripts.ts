// The Lua side of FailureCounter (src/limits/failure-counter.ts). Each script runs atomically,
// so two nodes never both admit the last unit of a client's budget. Every key expires by
// itself (PX, on Redis's own clock: no node's clock skew matters), so a guesser that goes
// away leaves nothing behind.
//
// KEYS: 1 the client's count, 2 the client's lock, 3 the client's "proven" mark (a success
// within the window), 4 the global count, 5 the global lock.
// ARGV: maxFailures, globalMaxFailures, windowMs (and, for the release script, whether the client proved a credential).
// Scopes in replies: 1 client, 2 global.

const common = `
local max, gmax, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function used(key) return tonumber(redis.call('GET', key) or '0') end
local function bump(key)
  -- A counter's window starts with its first unit; a key somehow left without a TTL gets one.
  if redis.call('INCR', key) == 1 or redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
end
`;

/**
 * Reply {1, 0, 0} when admitted (one unit reserved on the client's and the global count), or
 * {0, scope, retryAfterMs}. A client whose budget is taken by attempts still in flight is
 * refused like a locked one: that is what makes a parallel burst count.
 */
export const failureAttemptLua = `${common}
local lock = redis.call('PTTL', KEYS[2])
if lock > 0 then return {0, 1, lock} end
-- During a global lock a client that proved a credential within the window keeps working:
-- a distributed guesser then locks out only unproven clients, not the admins at work.
local proven = redis.call('EXISTS', KEYS[3]) == 1
if not proven then
  local glock = redis.call('PTTL', KEYS[5])
  if glock > 0 then return {0, 2, glock} end
end
if used(KEYS[1]) >= max then return {0, 1, math.max(1, redis.call('PTTL', KEYS[1]))} end
if not proven and used(KEYS[4]) >= gmax then return {0, 2, math.max(1, redis.call('PTTL', KEYS[4]))} end
bump(KEYS[1])
bump(KEYS[4])
return {1, 0, 0}
`;

/** The reserved unit stays counted. Reply {scope, retryAfterMs} of the lock this failure began, or {0, 0}. */
export const failureFailedLua = `${common}
local out = {0, 0}
-- The window ended between the attempt and its verdict: the failure opens the next one.
if used(KEYS[1]) == 0 then bump(KEYS[1]) end
if used(KEYS[4]) == 0 then bump(KEYS[4]) end
if used(KEYS[4]) >= gmax and redis.call('PTTL', KEYS[5]) <= 0 then
  redis.call('SET', KEYS[5], '1', 'PX', window)
  out = {2, window}
end
if used(KEYS[1]) >= max and redis.call('PTTL', KEYS[2]) <= 0 then
  redis.call('SET', KEYS[2], '1', 'PX', window)
  out = {1, window}
end
return out
`;

/**
 * Gives the reserved unit back and, after a success (ARGV[4] = '1'), marks the client proven
 * for one window. Only this attempt's own unit is returned: a success never lowers another
 * caller's count, nor this client's earlier failures (a caller holding one low-privilege token
 * could otherwise reset its budget between guesses at another).
 */
export const failureReleaseLua = `${common}
if used(KEYS[1]) > 0 then redis.call('DECR', KEYS[1]) end
if used(KEYS[4]) > 0 then redis.call('DECR', KEYS[4]) end
if ARGV[4] == '1' then redis.call('SET', KEYS[3], '1', 'PX', window) end
return 1
`;
