/**
 * Everything a batch writes after the reply, as one command on one Redis, claims included.
 *
 * KEYS: the idempotency keys of the entries to claim (c of them), then one answers hash per bucket (b), then
 * the audit stream and the test audit stream.
 * ARGV: [1] the idempotency TTL in ms, [2] the answers' TTL in ms, [3] the streams' approximate MAXLEN,
 * [4] c, [5] b, [6] the audit stream's records and [7] the test stream's, each packed (see packRecords; ''
 * when none), then six values per entry that has an answer: the index of its idempotency key in KEYS (0:
 * nothing to claim), the index of its answers hash among the b (0: no answer to store), the value its claim
 * stores (its bucket), interceptor id, answer JSON, and where its record is: n for the n-th record of the
 * audit stream's, -n of the test stream's.
 *
 * An entry whose claim finds its id claimed already is a repeat answered elsewhere: neither its answer nor
 * its record is written (its record is cut out of the packed text: only then does the script split it).
 * Returns one flag per claim, in entry order: 1 claimed now, 0 a repeat. The script runs whole or not at
 * all, so a batch retried after a lost reply finds its own claims and writes nothing twice. HSET takes the
 * answers a thousand values at a time: Lua's unpack has a limit, and a batch kept through an outage can be
 * large.
 */
export const WRITE_SCRIPT = `
local claims, buckets = tonumber(ARGV[4]), tonumber(ARGV[5])
local hashes, repeats, flags = {}, { {}, {} }, {}
for at = 8, #ARGV, 6 do
  local claim, slot = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  local first = true
  if claim > 0 then
    first = redis.call('SET', KEYS[claim], ARGV[at + 2], 'NX', 'PX', ARGV[1]) ~= false
    flags[#flags + 1] = first and 1 or 0
  end
  if not first then
    local record = tonumber(ARGV[at + 5])
    if record > 0 then repeats[1][record] = true else repeats[2][-record] = true end
  elseif slot > 0 then
    local fields = hashes[slot] or {}
    fields[#fields + 1] = ARGV[at + 3]
    fields[#fields + 1] = ARGV[at + 4]
    hashes[slot] = fields
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
  local packed = ARGV[5 + s]
  if next(repeats[s]) then
    local kept, n, from = {}, 0, 2
    while from <= #packed do
      local to = string.find(packed, '\\n,', from, true) or #packed
      n = n + 1
      if not repeats[s][n] then kept[#kept + 1] = string.sub(packed, from, to - 1) end
      from = to + 2
    end
    packed = #kept > 0 and '[' .. table.concat(kept, '\\n,') .. ']' or ''
  end
  if packed ~= '' then
    redis.call('XADD', KEYS[claims + buckets + s], 'MAXLEN', '~', ARGV[3], '*', 'records', packed)
  end
end
return flags
`;

/**
 * Audit records (JSON texts) as the JSON array one stream entry holds: `[r1\n,r2\n,r3]`. JSON.stringify
 * writes no raw newline, so `\n,` separates records, and the write script cuts a repeat's record out
 * without parsing any; the newlines are whitespace to a JSON parser. '' for no records.
 */
export function packRecords(records: readonly string[]): string {
  return records.length === 0 ? "" : `[${records.join("\n,")}]`;
}
