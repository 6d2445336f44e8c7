import { describe, expect, it } from "vitest";
import type { DomainLists } from "./classify-domain.js";
import { createEmailDomainHandler } from "./email-domain-handler.js";
import type { ResolveMx } from "./lookup-mx.js";
import { emailDomainSettingsSchema } from "./settings.js";

const lists: DomainLists = {
  disposable: new Set(["mailinator.com", "guerrillamail.com", "allowed.example"]),
  freeMail: new Set(["gmail.com", "mailinator.com"]),
};
const settings = emailDomainSettingsSchema.parse({ GATEHOUSE_DISPOSABLE_ALLOWLIST: "allowed.example" });
const live = () => ({ signal: new AbortController().signal });
const mxFor =
  (answers: Record<string, string>): ResolveMx =>
  async (domain) => {
    const answer = answers[domain];
    if (answer === undefined) throw Object.assign(new Error("NXDOMAIN"), { code: "ENOTFOUND" });
    if (answer === "timeout") throw Object.assign(new Error("timeout"), { code: "ETIMEOUT" });
    return [{ priority: 10, exchange: answer }];
  };

describe("createEmailDomainHandler", () => {
  const handler = createEmailDomainHandler({
    settings,
    lists,
    resolveMx: mxFor({ "gmail.com": "gmail-smtp-in.l.google.com", "x.mailinator.com": "timeout" }),
  });

  it("combines the list checks with the MX lookup", async () => {
    expect(await handler.run({ domain: "gmail.com" }, live())).toEqual({
      domain: "gmail.com",
      registrable: "gmail.com",
      disposable: false,
      freeMail: true,
      mx: "present",
    });
    expect(await handler.run({ domain: "x.mailinator.com" }, live())).toEqual({
      domain: "x.mailinator.com",
      registrable: "mailinator.com",
      disposable: true,
      freeMail: false,
      mx: "unknown",
    });
    expect(await handler.run({ domain: "allowed.example" }, live())).toEqual({
      domain: "allowed.example",
      registrable: "allowed.example",
      disposable: false,
      freeMail: false,
      mx: "absent",
    });
  });

  it("warms every listed disposable domain but the allowlisted ones, without MX", () => {
    expect([...handler.warm()]).toEqual([
      {
        input: { domain: "mailinator.com" },
        fact: {
          domain: "mailinator.com",
          registrable: "mailinator.com",
          disposable: true,
          freeMail: false,
          mx: "unknown",
        },
      },
      {
        input: { domain: "guerrillamail.com" },
        fact: {
          domain: "guerrillamail.com",
          registrable: "guerrillamail.com",
          disposable: true,
          freeMail: false,
          mx: "unknown",
        },
      },
    ]);
  });

  it("rejects with the abort reason when the run is aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("job timed out");
    controller.abort(reason);
    await expect(handler.run({ domain: "gmail.com" }, { signal: controller.signal })).rejects.toBe(reason);
  });
});
