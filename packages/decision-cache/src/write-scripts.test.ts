import { describe, expect, it } from "vitest";
import { packRecords } from "./write-scripts.js";

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
