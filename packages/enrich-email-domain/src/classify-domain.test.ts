import { describe, expect, it } from "vitest";
import { createDomainClassifier, type DomainLists } from "./classify-domain.js";
import { loadDomainLists } from "./load-domain-lists.js";
import { normalizeDomain } from "./normalize-domain.js";

const small: DomainLists = {
  disposable: new Set(["mailinator.com", "trash.example.org"]),
  freeMail: new Set(["gmail.com", "mailinator.com", "web.de"]),
};

describe("createDomainClassifier with small lists", () => {
  const classify = createDomainClassifier(small, []);

  it("reports the registrable domain under the ICANN suffixes", () => {
    expect(classify("a.b.example.co.uk").registrable).toBe("example.co.uk");
    expect(classify("gmail.com").registrable).toBe("gmail.com");
    expect(classify("co.uk").registrable).toBeNull();
  });

  it("finds a disposable domain directly and through its registrable domain", () => {
    expect(classify("mailinator.com")).toEqual({
      registrable: "mailinator.com",
      disposable: true,
      freeMail: false,
    });
    expect(classify("x.mailinator.com")).toEqual({
      registrable: "mailinator.com",
      disposable: true,
      freeMail: false,
    });
    expect(classify("trash.example.org")).toMatchObject({ disposable: true });
    expect(classify("other.example.org")).toMatchObject({ disposable: false });
  });

  it("reports free-mail only for domains that are not disposable", () => {
    expect(classify("gmail.com")).toEqual({ registrable: "gmail.com", disposable: false, freeMail: true });
    expect(classify("mx.web.de")).toMatchObject({ disposable: false, freeMail: true });
    expect(classify("acmecorp.com")).toEqual({
      registrable: "acmecorp.com",
      disposable: false,
      freeMail: false,
    });
  });

  it("lets the allowlist clear a domain, and every domain under an allowlisted registrable domain", () => {
    const allowing = createDomainClassifier(small, ["mailinator.com", "trash.example.org"]);
    expect(allowing("x.mailinator.com")).toEqual({
      registrable: "mailinator.com",
      disposable: false,
      freeMail: true,
    });
    expect(allowing("trash.example.org")).toMatchObject({ disposable: false });
  });
});

describe("createDomainClassifier with the shipped lists", async () => {
  const lists = await loadDomainLists();
  const classify = createDomainClassifier(lists, []);

  it("loads thousands of normalized domains", () => {
    expect(lists.disposable.size).toBeGreaterThan(1000);
    expect(lists.freeMail.size).toBeGreaterThan(1000);
    // all.json lists "müll.email" in Unicode; it is kept in the form the domains it meets are in.
    expect(lists.freeMail.has(normalizeDomain("müll.email") ?? "")).toBe(true);
    for (const domain of [...lists.disposable, ...lists.freeMail]) expect(domain).toMatch(/^[a-z0-9.-]+$/);
  });

  it("knows mailinator (through its registrable domain) as disposable and gmail as free-mail", () => {
    expect(classify("x.mailinator.com")).toEqual({
      registrable: "mailinator.com",
      disposable: true,
      freeMail: false,
    });
    expect(classify("gmail.com")).toEqual({ registrable: "gmail.com", disposable: false, freeMail: true });
    expect(classify("acmecorp.com")).toMatchObject({ disposable: false, freeMail: false });
  });
});
