// The Lua side of FailureCounter (src/limits/failure-counter.ts). Each script runs atomically
// and Redis runs them in the order they arrive, so each attempt's verdict lands at its place in
// the client's sequence of attempts, across every node. Every key expires by itself (PX, on
// Redis's own clock: no node's clock skew matters), so a guesser that goes away leaves nothing.
//
// KEYS: 1 the client's count, 2 the client's lock, 3 the client's "proven" mark (a success
// within the window), 4 the global count, 5 the global lock.
// ARGV: maxFailures, globalMaxFailures, windowMs.
// Scopes in replies: 0 none, 1 client, 2 global.

const common = `
local max, gmax, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function used(key) return tonumber(redis.call('GET', key) or '0') end
local function bump(key)
  -- A counter's window starts with its first failure; a key somehow left without a TTL gets one.
  if redis.call('INCR', key) == 1 or redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
end
-- {scope, retryAfterMs} when this client may not authenticate now, else {0, 0}. Reaching the
-- count is enough: the lock key is only the record of it.
local function barred()
  local lock = redis.call('PTTL', KEYS[2])
  if lock > 0 then return {1, lock} end
  if used(KEYS[1]) >= max then return {1, math.max(1, redis.call('PTTL', KEYS[1]))} end
  -- During a global lock a client that proved a credential within the window and has not
  -- failed since keeps working: a distributed guesser then locks out only unproven clients, not
  -- the admins at work, and cannot buy its way past the backstop with a credential of its own.
  if redis.call('EXISTS', KEYS[3]) == 1 and used(KEYS[1]) == 0 then return {0, 0} end
  local glock = redis.call('PTTL', KEYS[5])
  if glock > 0 then return {2, glock} end
  if used(KEYS[4]) >= gmax then return {2, math.max(1, redis.call('PTTL', KEYS[4]))} end
  return {0, 0}
end
`;

/** Before the credential is checked: {scope, retryAfterMs} of the bar, or {0, 0}. Counts nothing. */
export const failureCheckLua = `${common}
return barred()
`;

/**
 * A failed credential: counted, whatever came before. Reply {barScope, barMs, lockScope, lockMs}:
 * the bar this attempt met when its verdict arrived (the caller then answers as throttled, so a
 * burst's late attempts look alike, right or wrong) and the lock this failure began, if any.
 */
export const failureFailedLua = `${common}
local bar = barred()
bump(KEYS[1])
bump(KEYS[4])
local lock = {0, 0}
if used(KEYS[4]) >= gmax and redis.call('PTTL', KEYS[5]) <= 0 then
  redis.call('SET', KEYS[5], '1', 'PX', window)
  lock = {2, window}
end
if used(KEYS[1]) >= max and redis.call('PTTL', KEYS[2]) <= 0 then
  redis.call('SET', KEYS[2], '1', 'PX', window)
  lock = {1, window}
end
return {bar[1], bar[2], lock[1], lock[2]}
`;

/**
 * A right credential: refused ({scope, retryAfterMs}) when the client was barred by the time its
 * verdict arrived (a guess at the end of a parallel burst must not get through), else marked
 * proven for one window ({0, 0}). A success never lowers a count: a caller holding one
 * low-privilege token could otherwise reset its budget between guesses at another.
 */
export const failureSucceededLua = `${common}
local bar = barred()
if bar[1] ~= 0 then return bar end
redis.call('SET', KEYS[3], '1', 'PX', window)
return {0, 0}
`;
