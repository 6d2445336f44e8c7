/**
 * Everything a batch writes after the reply, as one command on one Redis, claims included.
 *
 * KEYS: the idempotency keys of the entries to claim (c of them), then one answers hash per bucket (b), then
 * the audit stream and the test audit stream.
 * ARGV: [1] the idempotency TTL in ms, [2] the answers' TTL in ms, [3] the streams' approximate MAXLEN,
 * [4] c, [5] b, then seven values per entry: the index of its idempotency key in KEYS (0: nothing to claim),
 * the index of its answers hash among the b (0: no answer to store), the value its claim stores (its bucket),
 * interceptor id, answer JSON, its stream (1 audit, 2 test) and its audit record (JSON).
 *
 * An entry whose claim finds its id claimed already is a repeat answered elsewhere: neither its answer nor
 * its record is written. Returns one flag per claim, in entry order: 1 claimed now, 0 a repeat. The script
 * runs whole or not at all, so a batch retried after a lost reply finds its own claims and writes nothing
 * twice. HSET takes the answers a thousand values at a time: Lua's unpack has a limit, and a batch kept
 * through an outage can be large.
 */
export const WRITE_SCRIPT = `
local claims, buckets = tonumber(ARGV[4]), tonumber(ARGV[5])
local hashes, streams, flags = {}, { {}, {} }, {}
for at = 6, #ARGV, 7 do
  local claim, slot = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  local first = true
  if claim > 0 then
    first = redis.call('SET', KEYS[claim], ARGV[at + 2], 'NX', 'PX', ARGV[1]) ~= false
    flags[#flags + 1] = first and 1 or 0
  end
  if first then
    if slot > 0 then
      local fields = hashes[slot] or {}
      fields[#fields + 1] = ARGV[at + 3]
      fields[#fields + 1] = ARGV[at + 4]
      hashes[slot] = fields
    end
    local records = streams[tonumber(ARGV[at + 5])]
    records[#records + 1] = ARGV[at + 6]
  end
end
for slot = 1, buckets do
  local fields = hashes[slot]
  if fields then
    for i = 1, #fields, 1000 do
      redis.call('HSET', KEYS[claims + slot], unpack(fields, i, math.min(i + 999, #fields)))
    end
    redis.call('PEXPIRE', KEYS[claims + slot], ARGV[2])
  end
end
for s = 1, 2 do
  if #streams[s] > 0 then
    redis.call('XADD', KEYS[claims + buckets + s], 'MAXLEN', '~', ARGV[3], '*', 'records',
      '[' .. table.concat(streams[s], ',') .. ']')
  end
end
return flags
`;
