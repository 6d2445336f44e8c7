/**
 * The claims of a batch of interceptor ids answered from memory, on one Redis: KEYS are their idempotency
 * keys; ARGV[1] the idempotency TTL in ms, ARGV[1 + i] the bucket of KEYS[i]'s answer. Returns one flag per
 * key: 1 claimed now, 0 claimed before (a repeat).
 */
export const CLAIM_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('SET', KEYS[i], ARGV[i + 1], 'NX', 'PX', ARGV[1]) and 1 or 0
end
return out
`;

/**
 * Everything a batch writes after the reply, as one command on one Redis. KEYS: one answers hash per
 * bucket, then the audit stream, then the test audit stream. ARGV: [1] the answers' TTL in ms, [2] the
 * streams' approximate MAXLEN, [3] the packed audit records or '', [4] the packed test records or '', then
 * per bucket the number of values n and n values (interceptor id, answer JSON, …). HSET takes them a
 * thousand at a time: Lua's unpack has a limit, and a batch kept through an outage can be large.
 */
export const WRITE_SCRIPT = `
local buckets = #KEYS - 2
local at = 5
for b = 1, buckets do
  local n = tonumber(ARGV[at])
  for i = at + 1, at + n, 1000 do
    redis.call('HSET', KEYS[b], unpack(ARGV, i, math.min(i + 999, at + n)))
  end
  redis.call('PEXPIRE', KEYS[b], ARGV[1])
  at = at + n + 1
end
if ARGV[3] ~= '' then redis.call('XADD', KEYS[buckets + 1], 'MAXLEN', '~', ARGV[2], '*', 'records', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('XADD', KEYS[buckets + 2], 'MAXLEN', '~', ARGV[2], '*', 'records', ARGV[4]) end
return 0
`;
