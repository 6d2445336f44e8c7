/**
 * Everything one request needs, in one command (see shared notes: per-request cost is dominated by the
 * number of Redis commands). KEYS[1] is the idempotency key, KEYS[2..] the facts.
 * ARGV: [1] this ingress' answer bucket, [2] idempotency TTL in ms, [3] answers-hash prefix, [4] interceptor id.
 *
 * First sight of an interceptor id: claims it (SET NX) and returns {1, fact1, fact2, …}.
 * A repeat: returns {0, stored answer or false while the first request is still being answered}.
 */
export const READ_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local out = {1}
  for i = 2, #KEYS do out[i] = redis.call('GET', KEYS[i]) end
  return out
end
local bucket = redis.call('GET', KEYS[1])
if not bucket then return {0, false} end
return {0, redis.call('HGET', ARGV[3] .. bucket, ARGV[4])}
`;

/**
 * The answer stored for an interceptor id, or false while there is none (yet).
 * KEYS[1] the idempotency key; ARGV: [1] answers-hash prefix, [2] interceptor id.
 */
export const STORED_ANSWER_SCRIPT = `
local bucket = redis.call('GET', KEYS[1])
if not bucket then return false end
return redis.call('HGET', ARGV[1] .. bucket, ARGV[2])
`;
