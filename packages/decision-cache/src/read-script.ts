/**
 * Everything one request needs, in one command (see shared notes: per-request cost is dominated by the
 * number of Redis commands). KEYS[1] is the idempotency key, KEYS[2 .. 1+ARGV[2]] the values to GET (facts,
 * team facts), then one pair of keys per velocity counter: this window's and the previous window's.
 * ARGV: [1] idempotency TTL in ms, [2] how many keys to GET, [3..] each counter's TTL in ms.
 *
 * First sight of an interceptor id: claims it (SET NX, '' until the answer replaces it), counts it in every
 * counter (INCR; a repeat never counts twice) and returns {1, value1, value2, …, current1, previous1,
 * current2, previous2, …}. A repeat: returns {0, stored answer or false while the first request is still
 * being answered}.
 *
 * A full Redis (maxmemory reached, `noeviction`, as BullMQ requires) refuses writes but still answers reads:
 * then the id is not claimed, nothing is counted (each counter reads as its stored count plus this request)
 * and the reply starts with 2 instead of 1 — the request is decided from what the cache holds rather than by
 * its fallback. Any other refused write (READONLY after a failover) fails the script, as before.
 */
export const READ_SCRIPT = `
local claim = redis.pcall('SET', KEYS[1], '', 'NX', 'PX', ARGV[1])
local full = type(claim) == 'table' and claim.err ~= nil
if full and string.sub(claim.err, 1, 3) ~= 'OOM' then return redis.error_reply(claim.err) end
if not claim then
  local answer = redis.call('GET', KEYS[1])
  return {0, answer ~= '' and answer}
end
local out = {full and 2 or 1}
local gets = tonumber(ARGV[2])
for i = 2, gets + 1 do out[i] = redis.call('GET', KEYS[i]) end
local counter = 0
for i = gets + 2, #KEYS, 2 do
  counter = counter + 1
  local current
  if full then
    current = tonumber(redis.call('GET', KEYS[i]) or '0') + 1
  else
    current = redis.call('INCR', KEYS[i])
    if current == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 + counter]) end
  end
  out[#out + 1] = current
  out[#out + 1] = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
end
return out
`;

/**
 * One velocity counter on a Redis Cluster, where the read cannot be one script over keys of many slots:
 * KEYS[1] this window, KEYS[2] the previous one (one slot: hash-tagged); ARGV[1] the window's TTL in ms.
 * Returns {this window's count including this request, the previous window's count}; on a full node, the
 * count as it would be, not stored (see READ_SCRIPT).
 */
export const COUNT_SCRIPT = `
local current = redis.pcall('INCR', KEYS[1])
if type(current) == 'table' then
  if string.sub(current.err, 1, 3) ~= 'OOM' then return redis.error_reply(current.err) end
  current = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
elseif current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {current, tonumber(redis.call('GET', KEYS[2]) or '0')}
`;
