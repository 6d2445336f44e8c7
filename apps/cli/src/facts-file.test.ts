import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors/usage-error.js";
import { batches } from "./facts-command.js";
import { duplicateIds, parseFactsCsv, parseFactsJson, readFactsFile } from "./facts-file.js";

describe("parseFactsCsv", () => {
  it("reads one organization or user per row, with the line each starts on", () => {
    const csv = [
      "kind,id,memberCount,allowedDomains,externalId,claims",
      "organization,org_1,12,acme.com;acme.co.uk,crm-1,",
      "",
      "# a comment line",
      'organization, org_2 ,0,"a.example b.example ; c.example",,',
      'user,usr_1,,,,"{""plan"":""pro"",""seats"":5}"',
      "user,usr_2,,,,",
    ].join("\n");
    expect(parseFactsCsv(csv)).toEqual({
      problems: [],
      records: [
        {
          list: "organizations",
          where: "line 2",
          body: {
            id: "org_1",
            memberCount: 12,
            allowedDomains: ["acme.com", "acme.co.uk"],
            externalId: "crm-1",
          },
        },
        {
          list: "organizations",
          where: "line 5",
          body: { id: "org_2", memberCount: 0, allowedDomains: ["a.example", "b.example", "c.example"] },
        },
        { list: "users", where: "line 6", body: { id: "usr_1", claims: { plan: "pro", seats: 5 } } },
        { list: "users", where: "line 7", body: { id: "usr_2" } },
      ],
    });
  });

  it("takes the columns in any order, only kind and id being required, and a byte-order mark", () => {
    const { records } = parseFactsCsv("\uFEFFid,claims,kind\r\nusr_9,{},user\r\n");
    expect(records).toEqual([{ list: "users", where: "line 2", body: { id: "usr_9", claims: {} } }]);
  });

  it("names the line a record starts on when a quoted claims cell spans lines", () => {
    const csv = 'kind,id,claims\nuser,usr_1,"{\n""a"": 1\n}"\nuser,usr_2,"{""b"":"\n';
    expect(parseFactsCsv(csv).problems).toEqual([
      { where: "line 5", message: expect.stringMatching(/^claims: not valid JSON/) },
    ]);
    expect(parseFactsCsv(csv).records).toEqual([
      { list: "users", where: "line 2", body: { id: "usr_1", claims: { a: 1 } } },
    ]);
  });

  it("passes a member count that is not a number on as text, for the API to name", () => {
    expect(parseFactsCsv("kind,id,memberCount\norganization,o,twelve\n").records[0]?.body).toEqual({
      id: "o",
      memberCount: "twelve",
    });
  });

  it("lists rows whose kind is neither organization nor user", () => {
    expect(parseFactsCsv("kind,id\norganization,o\norganisation,p\n,q\n").problems).toEqual([
      { where: "line 3", message: 'kind: "organisation" is not organization or user' },
      { where: "line 4", message: 'kind: "" is not organization or user' },
    ]);
  });

  it.each([
    ["kind,id,members\norganization,o,1\n", 'line 1: unknown column "members"'],
    ["id,claims\nu,{}\n", 'line 1: the header has no "kind" column'],
    ['kind,id\nuser,"unterminated\n', "Quote Not Closed"],
    ["kind,id\nuser,u,extra\n", "Invalid Record Length"],
  ])("refuses %j with a usage error naming the problem", (csv, message) => {
    expect(() => parseFactsCsv(csv, "facts.csv")).toThrow(UsageError);
    expect(() => parseFactsCsv(csv, "facts.csv")).toThrow(message);
  });
});

describe("parseFactsJson", () => {
  it("reads the admin API's bulk body, each record placed by its list and index", () => {
    const json = JSON.stringify({
      organizations: [{ id: "o", memberCount: 1 }],
      users: [{ id: "u" }, { id: "v" }],
    });
    expect(parseFactsJson(json)).toEqual({
      problems: [],
      records: [
        { list: "organizations", where: "organizations[0]", body: { id: "o", memberCount: 1 } },
        { list: "users", where: "users[0]", body: { id: "u" } },
        { list: "users", where: "users[1]", body: { id: "v" } },
      ],
    });
  });

  it("lists unknown fields, lists that are not arrays and records that are not objects", () => {
    const { problems } = parseFactsJson('{"users": [1, {"id": "u"}], "organizations": {}, "ttl": 5}');
    expect(problems).toEqual([
      { where: "users[0]", message: "must be an object with an id" },
      { where: "organizations", message: "must be an array" },
      { where: "ttl", message: 'unknown field: expected "organizations" and "users"' },
    ]);
  });

  it.each(["[]", "null", "{broken"])("refuses %j as a whole", (text) => {
    expect(() => parseFactsJson(text, "facts.json")).toThrow(/^facts\.json: /);
  });
});

describe("readFactsFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-facts-"));

  it("chooses the parser by extension, in any case", () => {
    const file = join(dir, "facts.CSV");
    writeFileSync(file, "kind,id\nuser,u\n");
    expect(readFactsFile(file).records).toHaveLength(1);
  });

  it("refuses other extensions and files that cannot be read", () => {
    const file = join(dir, "facts.txt");
    writeFileSync(file, "");
    expect(() => readFactsFile(file)).toThrow(/expected a \.json or \.csv file/);
    expect(() => readFactsFile(join(dir, "absent.json"))).toThrow(/cannot read the file \(ENOENT\)/);
  });
});

describe("duplicateIds", () => {
  it("names each repeated id of one kind with the place it was first given; kinds are apart", () => {
    const { records } = parseFactsCsv("kind,id\norganization,a\nuser,a\norganization,b\norganization,a\n");
    expect(duplicateIds(records)).toEqual([{ where: "line 5", message: 'id "a" repeats line 2' }]);
  });
});

describe("batches", () => {
  const record = (id: string, pad = 0) => ({
    list: "users" as const,
    body: { id, claims: { pad: "x".repeat(pad) } },
    where: id,
  });

  it("cuts by record count", () => {
    const cut = batches(
      Array.from({ length: 5 }, (_, i) => record(`u${i}`)),
      2,
    );
    expect(cut.map((batch) => batch.map((r) => r.where))).toEqual([["u0", "u1"], ["u2", "u3"], ["u4"]]);
  });

  it("cuts before a batch would pass 4 MiB of JSON, and sends an oversized record on its own", () => {
    const cut = batches(
      [
        record("a", 1_000_000),
        record("b", 1_000_000),
        record("c", 3_000_000),
        record("d", 5_000_000),
        record("e"),
      ],
      1_000,
    );
    expect(cut.map((batch) => batch.map((r) => r.where))).toEqual([["a", "b"], ["c"], ["d"], ["e"]]);
  });
});
