/**
 * Everything a batch writes after the reply, as one command on one Redis, claims included.
 *
 * KEYS: the idempotency key of each entry that has an answer, then the audit stream and the test audit
 * stream. ARGV: [1] the idempotency TTL in ms, [2] the streams' approximate MAXLEN, [3] the audit stream's
 * records and [4] the test stream's, each packed (see packRecords; empty when none), [5] the answers, packed
 * (see packAnswers): one line per key before the streams' — 1 to claim its id with the answer (answered
 * from memory: SET NX) or 0 to store the answer in the claim its read made (SET XX, the claim's TTL kept);
 * where its record is, n for the n-th record of the audit stream's, -n of the test stream's; a tab; the
 * answer JSON.
 *
 * An entry whose claim finds its id claimed already is a repeat answered elsewhere: its record is not
 * written (it is cut out of the packed text: only then does the script split it). Returns one flag per
 * claim, in entry order: 1 claimed now, 0 a repeat. The script runs whole or not at all, so a batch retried
 * after a lost reply finds its own claims and writes nothing twice.
 */
export const WRITE_SCRIPT = `
local repeats, flags = { {}, {} }, {}
local answers, from = ARGV[5], 1
for i = 1, #KEYS - 2 do
  local tab = string.find(answers, '\\t', from, true)
  local stop = string.find(answers, '\\n', tab, true)
  local json = string.sub(answers, tab + 1, stop - 1)
  if string.byte(answers, from) == 49 then -- '1'
    local first = redis.call('SET', KEYS[i], json, 'NX', 'PX', ARGV[1]) ~= false
    flags[#flags + 1] = first and 1 or 0
    if not first then
      local record = tonumber(string.sub(answers, from + 1, tab - 1))
      if record > 0 then repeats[1][record] = true else repeats[2][-record] = true end
    end
  else
    redis.call('SET', KEYS[i], json, 'XX', 'KEEPTTL')
  end
  from = stop + 1
end
for s = 1, 2 do
  local packed = ARGV[2 + s]
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
    redis.call('XADD', KEYS[#KEYS - 2 + s], 'MAXLEN', '~', ARGV[2], '*', 'records', packed)
  end
end
return flags
`;

/**
 * Audit records (JSON texts) as the JSON array one stream entry holds, `[r1\n,r2\n,r3]`, in UTF-8 bytes. JSON.stringify
 * writes no raw newline, so `\n,` separates records, and the write script cuts a repeat's record out
 * without parsing any; the newlines are whitespace to a JSON parser. Empty for no records.
 *
 * Bytes, not a string: a batch's records (~30 KB at 64 a batch) given to ioredis as one string ended up in
 * V8's old generation every time — the command ioredis built from it was ~440 bytes a request that no
 * scavenge collected (heap sampling of a benchmark window), 350-550 KB promoted by each scavenge at 3,000
 * requests/s, for the mark-compacts to collect. Written into a buffer outside V8's heap: 90-130 KB.
 * Quick benchmarks alternating the two builds (two each): GC pauses 1.16-1.65 ms on average against
 * 1.85-2.01, p99 at 3,000 requests/s 2.67-4.45 ms against 4.58-9.98; CPU per request within the noise.
 */
export function packRecords(records: readonly string[]): Buffer {
  if (records.length === 0) return EMPTY;
  // "[" and "]", and "\n," between two records: two bytes a record.
  let length = 2 * records.length;
  for (const record of records) length += Buffer.byteLength(record);
  const packed = Buffer.allocUnsafe(length);
  let at = packed.write("[", 0, "latin1");
  for (const [index, record] of records.entries()) {
    if (index > 0) at += packed.write("\n,", at, "latin1");
    at += packed.write(record, at);
  }
  packed.write("]", at, "latin1");
  return packed;
}

/** One answer of a batch, as the write script reads it. */
export interface PackedAnswer {
  /** Claim the id with the answer (SET NX), or store the answer in the claim a read made (SET XX). */
  readonly claim: boolean;
  /** Where the entry's record is: n for the n-th of the audit stream's records, -n of the test stream's. */
  readonly record: number;
  /** The answer's JSON (JSON.stringify's: no raw tab or newline). */
  readonly json: string;
}

/**
 * A batch's answers as the write script's one argument: a line each, `<1|0><record>\t<json>\n`, in
 * UTF-8 bytes. One argument instead of three an answer: ioredis makes each argument a piece of the command
 * of its own (its length, its bytes, their concatenation), on the event loop, while it builds the batch's
 * command — 0.2 ms of the ~0.45 ms a batch of ~60 held the loop (instrumented), and 4% of the ingress' CPU
 * per request (`npm run bench:ab` at 3,000 requests/s: 0.961, 18 of 24 rounds below the previous build).
 */
export function packAnswers(answers: readonly PackedAnswer[]): Buffer {
  let text = "";
  for (const answer of answers) text += `${answer.claim ? 1 : 0}${answer.record}\t${answer.json}\n`;
  return Buffer.from(text, "utf8");
}

const EMPTY = Buffer.alloc(0);
