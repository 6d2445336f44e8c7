import { describe, expect, it } from "vitest";
import { packAnswers, packRecords } from "./write-scripts.js";

describe("packRecords", () => {
  it("writes the records as one JSON array in UTF-8, `\\n,` between two records", () => {
    const records = [{ rule: "block-ünïcödé" }, { rule: "ok", n: 1 }, { rule: "日本" }].map((record) =>
      JSON.stringify(record),
    );
    const packed = packRecords(records);
    expect(packed.equals(Buffer.from(`[${records.join("\n,")}]`, "utf8"))).toBe(true);
    expect(JSON.parse(packed.toString("utf8"))).toEqual([
      { rule: "block-ünïcödé" },
      { rule: "ok", n: 1 },
      { rule: "日本" },
    ]);
  });

  it("packs one record without a separator, and none as no bytes", () => {
    expect(packRecords(['{"a":1}']).toString()).toBe('[{"a":1}]');
    expect(packRecords([]).length).toBe(0);
  });
});

describe("packAnswers", () => {
  it("writes a line per answer: claim flag, record, tab, JSON — in UTF-8", () => {
    const packed = packAnswers([
      { claim: true, record: 3, json: '{"decision":"ALLOW"}' },
      { claim: false, record: -1, json: '{"decision":"DENY","error":{"message":"Nein, danke: \\n ü"}}' },
    ]);
    expect(packed.toString("utf8")).toBe(
      '13\t{"decision":"ALLOW"}\n0-1\t{"decision":"DENY","error":{"message":"Nein, danke: \\n ü"}}\n',
    );
    // The script counts bytes: "ü" is two of them (UTF-8), not one (latin1).
    expect(packed.includes(Buffer.from("ü", "utf8"))).toBe(true);
    expect(packAnswers([]).length).toBe(0);
  });
});
