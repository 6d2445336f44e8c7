import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors/usage-error.js";
import { readWarmFile, type WarmLine, warmCsvLines, warmTextLines } from "./warm-file.js";

async function collect(lines: AsyncIterable<WarmLine>): Promise<WarmLine[]> {
  const all: WarmLine[] = [];
  for await (const line of lines) all.push(line);
  return all;
}
const contexts = (lines: WarmLine[]) => lines.map((line) => line.request?.interceptor_context);
const problems = (lines: WarmLine[]) => lines.flatMap((line) => line.problems ?? []);
/** A source that delivers `text` in chunks of `size` characters (lines cut across chunks). */
const chunked = (text: string, size = 3) =>
  Readable.from(
    Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, i * size + size)),
  );

describe("warm files", () => {
  it("reads a text file: an email address or an IP per line, skipping blank lines and comments", async () => {
    const lines = await collect(
      warmTextLines(chunked("jane@acme.test\n\n# from the CRM\n203.0.113.5\r\n2001:db8::1")),
    );
    expect(problems(lines)).toEqual([]);
    expect(contexts(lines)).toEqual([
      { user_email: "jane@acme.test" },
      { ip_address: "203.0.113.5" },
      { ip_address: "2001:db8::1" },
    ]);
    expect(lines.map((line) => line.where)).toEqual(["line 1", "line 4", "line 5"]);
  });

  it("says which line holds a value the ingress would refuse", async () => {
    const lines = await collect(warmTextLines(chunked("jane@acme.test\nnot-an-address\n999.1.1.1.1\n")));
    expect(lines.filter((line) => line.request)).toHaveLength(1);
    expect(problems(lines)).toEqual([
      { where: "line 2", message: "email: not an email address" },
      { where: "line 3", message: "email: not an email address" },
    ]);
  });

  it("hands over each line as it arrives, before the file ends", async () => {
    const source = new PassThrough();
    const lines = warmTextLines(source)[Symbol.asyncIterator]();
    source.write("jane@acme.test\n203.0.1");
    expect((await lines.next()).value).toMatchObject({ where: "line 1", request: expect.anything() });
    const second = lines.next();
    source.end("13.5\n");
    expect((await second).value?.request?.interceptor_context).toEqual({ ip_address: "203.0.113.5" });
    expect((await lines.next()).done).toBe(true);

    const csv = new PassThrough();
    const rows = warmCsvLines(csv)[Symbol.asyncIterator]();
    // The parser holds the last line it has until the next one begins (or the file ends).
    csv.write("ip\n192.0.2.1\n198.51.100.7\n");
    expect((await rows.next()).value).toMatchObject({ where: "line 2", request: expect.anything() });
    csv.end();
    expect((await rows.next()).value).toMatchObject({ where: "line 3", request: expect.anything() });
    expect((await rows.next()).done).toBe(true);
  });

  it("reads a CSV file by its header, named like send's flags; an empty cell is left out", async () => {
    const lines = await collect(
      warmCsvLines(chunked("email,ip,org,user\njane@acme.test,203.0.113.5,org_1,usr_1\n,198.51.100.7,,\n")),
    );
    expect(problems(lines)).toEqual([]);
    expect(contexts(lines)).toEqual([
      { user_email: "jane@acme.test", ip_address: "203.0.113.5", organization_id: "org_1", user_id: "usr_1" },
      { ip_address: "198.51.100.7" },
    ]);
    expect(lines.map((line) => line.where)).toEqual(["line 2", "line 3"]);
  });

  it("refuses an unknown column or broken CSV, and names the column of a bad value or an empty line", async () => {
    await expect(collect(warmCsvLines(chunked("mail,ip\nx@y.test,\n"), "w.csv"))).rejects.toThrow(
      new UsageError('w.csv: unknown column "mail"; the columns are email, ip, org, user, client'),
    );
    await expect(collect(warmCsvLines(chunked('ip\n"192.0.2.1\n'), "w.csv"))).rejects.toThrow(
      /^w\.csv: not valid CSV \(Quote Not Closed/,
    );
    const lines = await collect(warmCsvLines(chunked("email,ip\njane@acme.test,10.0.0.300\n,\n")));
    expect(problems(lines)).toEqual([
      { where: "line 2", message: "ip: not an IPv4 or IPv6 address" },
      { where: "line 3", message: "no value to warm" },
    ]);
  });

  it("reads .txt and .csv files by their extension, and refuses others and files it cannot read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warm-"));
    writeFileSync(join(dir, "a.txt"), "a@b.test\n");
    writeFileSync(join(dir, "a.csv"), "ip\n192.0.2.1\n");
    writeFileSync(join(dir, "a.json"), "[]");
    mkdirSync(join(dir, "folder.txt"));
    expect(contexts(await collect(readWarmFile(join(dir, "a.txt"))))).toEqual([{ user_email: "a@b.test" }]);
    expect(contexts(await collect(readWarmFile(join(dir, "a.csv"))))).toEqual([{ ip_address: "192.0.2.1" }]);
    await expect(collect(readWarmFile(join(dir, "a.json")))).rejects.toThrow(
      /expected a \.txt .* or \.csv file/,
    );
    for (const missing of ["missing.txt", "missing.csv"])
      await expect(collect(readWarmFile(join(dir, missing)))).rejects.toThrow(
        new UsageError(`${join(dir, missing)}: cannot read the file (ENOENT)`),
      );
    await expect(collect(readWarmFile(join(dir, "folder.txt")))).rejects.toThrow(
      /folder\.txt: cannot read the file \(EISDIR\)/,
    );
  });
});
