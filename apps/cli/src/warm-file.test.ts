import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors/usage-error.js";
import { parseWarmCsv, parseWarmText, readWarmFile } from "./warm-file.js";

const contexts = (file: { rows: { request: { interceptor_context: unknown } }[] }) =>
  file.rows.map((row) => row.request.interceptor_context);

describe("warm files", () => {
  it("reads a text file: an email address or an IP per line, skipping blank lines and comments", () => {
    const file = parseWarmText("jane@acme.test\n\n# from the CRM\n203.0.113.5\r\n2001:db8::1\n");
    expect(file.problems).toEqual([]);
    expect(contexts(file)).toEqual([
      { user_email: "jane@acme.test" },
      { ip_address: "203.0.113.5" },
      { ip_address: "2001:db8::1" },
    ]);
    expect(file.rows.map((row) => row.where)).toEqual(["line 1", "line 4", "line 5"]);
  });

  it("says which line holds a value the ingress would refuse", () => {
    const file = parseWarmText("jane@acme.test\nnot-an-address\n999.1.1.1.1\n");
    expect(file.rows).toHaveLength(1);
    expect(file.problems).toEqual([
      { where: "line 2", message: "email: not an email address" },
      { where: "line 3", message: "email: not an email address" },
    ]);
  });

  it("reads a CSV file by its header, named like send's flags; an empty cell is left out", () => {
    const file = parseWarmCsv("email,ip,org,user\njane@acme.test,203.0.113.5,org_1,usr_1\n,198.51.100.7,,\n");
    expect(file.problems).toEqual([]);
    expect(contexts(file)).toEqual([
      { user_email: "jane@acme.test", ip_address: "203.0.113.5", organization_id: "org_1", user_id: "usr_1" },
      { ip_address: "198.51.100.7" },
    ]);
    expect(file.rows.map((row) => row.where)).toEqual(["line 2", "line 3"]);
  });

  it("refuses an unknown column, and names the column of a bad value or an empty line", () => {
    expect(() => parseWarmCsv("mail,ip\nx@y.test,\n", "w.csv")).toThrow(
      new UsageError('w.csv: unknown column "mail"; the columns are email, ip, org, user, client'),
    );
    const file = parseWarmCsv("email,ip\njane@acme.test,10.0.0.300\n,\n");
    expect(file.problems).toEqual([
      { where: "line 2", message: "ip: not an IPv4 or IPv6 address" },
      { where: "line 3", message: "no value to warm" },
    ]);
  });

  it("reads .txt and .csv files by their extension and refuses others", () => {
    const dir = mkdtempSync(join(tmpdir(), "warm-"));
    writeFileSync(join(dir, "a.txt"), "a@b.test\n");
    writeFileSync(join(dir, "a.csv"), "ip\n192.0.2.1\n");
    writeFileSync(join(dir, "a.json"), "[]");
    expect(contexts(readWarmFile(join(dir, "a.txt")))).toEqual([{ user_email: "a@b.test" }]);
    expect(contexts(readWarmFile(join(dir, "a.csv")))).toEqual([{ ip_address: "192.0.2.1" }]);
    expect(() => readWarmFile(join(dir, "a.json"))).toThrow(/expected a \.txt .* or \.csv file/);
    expect(() => readWarmFile(join(dir, "missing.txt"))).toThrow(/cannot read the file \(ENOENT\)/);
  });
});
