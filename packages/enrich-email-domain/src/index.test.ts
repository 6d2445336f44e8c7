import { parseInterceptorRequest, requestFixture } from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailDomain, emailDomainFactSchema } from "./index.js";
import { type StubDnsServer, startStubDnsServer } from "./testing/stub-dns-server.js";

function request(name: Parameters<typeof requestFixture>[0], context: Record<string, unknown> = {}) {
  const body = requestFixture(name);
  body.interceptor_context = { ...(body.interceptor_context as Record<string, unknown>), ...context };
  const parsed = parseInterceptorRequest(body);
  if (!parsed.ok) throw new Error(`fixture ${name} does not parse: ${parsed.reason}`);
  return parsed.request;
}

describe("emailDomain: the part the ingress uses", () => {
  it("is email-domain v1", () => {
    expect(emailDomain.name).toBe("email-domain");
    expect(emailDomain.version).toBe(1);
  });

  it("takes the normalized domain of the user's email, on any trigger that has one", () => {
    expect(emailDomain.fromRequest(request("PRE_SIGNUP"))).toEqual({ domain: "acmecorp.com" });
    expect(emailDomain.fromRequest(request("PRE_SIGNUP", { user_email: "Jane@Bücher.DE" }))).toEqual({
      domain: "xn--bcher-kva.de",
    });
    expect(
      emailDomain.fromRequest(request("PRE_SESSION_CREATION", { user_email: "jane@X.Mailinator.com" })),
    ).toEqual({ domain: "x.mailinator.com" });
  });

  it("keeps a fact a day, but an MX lookup that could not be made only five minutes", () => {
    const fact = { domain: "a.example", registrable: "a.example", disposable: false, freeMail: false };
    expect(emailDomain.ttlSeconds).toBe(86_400);
    expect(emailDomain.ttlFor?.({ ...fact, mx: "present" })).toBe(86_400);
    expect(emailDomain.ttlFor?.({ ...fact, mx: "absent" })).toBe(86_400);
    expect(emailDomain.ttlFor?.({ ...fact, mx: "unknown" })).toBe(300);
  });

  it("does not apply to a request without an email", () => {
    expect(emailDomain.fromRequest(request("PRE_M2M_TOKEN_CREATION", { user_email: null }))).toBeUndefined();
  });

  it("uses the domain as the subject, and accepts only normalized domains as input", () => {
    expect(emailDomain.subject({ domain: "acmecorp.com" })).toBe("acmecorp.com");
    expect(emailDomain.input.safeParse({ domain: "acmecorp.com" }).success).toBe(true);
    expect(emailDomain.input.safeParse({ domain: "AcmeCorp.com" }).success).toBe(false);
    expect(emailDomain.input.safeParse({ domain: "bücher.de" }).success).toBe(false);
    expect(emailDomain.input.safeParse({}).success).toBe(false);
  });
});

describe("emailDomain: setup with the shipped lists and a stub DNS server", () => {
  let dns: StubDnsServer;
  beforeAll(async () => {
    dns = await startStubDnsServer({ "acmecorp.com": { mx: [[10, "mx.acmecorp.com"]] } });
  });
  afterAll(() => dns.close());

  it("answers from the lists and the configured DNS server, and warms valid facts", async () => {
    const settings = emailDomain.settings.parse({
      GATEHOUSE_DNS_SERVERS: dns.address,
      GATEHOUSE_MX_TIMEOUT_MS: "500",
    });
    const handler = await emailDomain.setup(settings);
    const signal = new AbortController().signal;

    expect(await handler.run({ domain: "acmecorp.com" }, { signal })).toEqual({
      domain: "acmecorp.com",
      registrable: "acmecorp.com",
      disposable: false,
      freeMail: false,
      mx: "present",
    });
    expect(await handler.run({ domain: "x.mailinator.com" }, { signal })).toMatchObject({
      registrable: "mailinator.com",
      disposable: true,
      mx: "absent",
    });

    const warmed = [...(handler.warm?.() ?? [])];
    expect(warmed.length).toBeGreaterThan(1000);
    expect(warmed.find(({ input }) => input.domain === "mailinator.com")?.fact).toEqual({
      domain: "mailinator.com",
      registrable: "mailinator.com",
      disposable: true,
      freeMail: false,
      mx: "unknown",
    });
    for (const { input, fact } of warmed) {
      expect(emailDomain.input.safeParse(input).success).toBe(true);
      expect(emailDomainFactSchema.safeParse(fact).success).toBe(true);
    }
  });
});
