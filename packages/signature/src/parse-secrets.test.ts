import { describe, expect, it } from "vitest";
import { parseSecrets } from "./parse-secrets.js";

describe("parseSecrets", () => {
  it("splits on commas", () => {
    expect(parseSecrets("whsec_a,whsec_b")).toEqual(["whsec_a", "whsec_b"]);
  });

  it("trims each secret and drops empty items", () => {
    expect(parseSecrets(" whsec_a , ,whsec_b,\n")).toEqual(["whsec_a", "whsec_b"]);
  });

  it("keeps a single secret, padding included", () => {
    expect(parseSecrets("whsec_QUI=")).toEqual(["whsec_QUI="]);
  });

  it("returns no secret for an empty or blank value", () => {
    expect(parseSecrets("")).toEqual([]);
    expect(parseSecrets(" , ")).toEqual([]);
  });
});
