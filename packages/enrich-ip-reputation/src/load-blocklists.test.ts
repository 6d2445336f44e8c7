import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlocklistLoadError } from "./errors/blocklist-load-error.js";
import { loadBlocklist, loadBlocklists } from "./load-blocklists.js";

describe("loadBlocklists", () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-blocklists-"));
    await writeFile(file("level1.netset"), "# FireHOL\n10.0.0.0/8\n10.1.0.0/16\n192.0.2.0/24\nnonsense\n");
    await writeFile(file("drop.txt"), "; DROP\n198.51.100.0/24 ; SBL1\n2001:db8::/32 ; SBL2\n");
    await writeFile(file("page.html"), "<html>\n<body>Not found</body>\n</html>\n");
    await writeFile(file("empty.ipset"), "# nothing listed today\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("loads each list with what it found", async () => {
    const lists = await loadBlocklists([
      { name: "level1", path: file("level1.netset") },
      { name: "drop", path: file("drop.txt") },
    ]);
    expect(lists.map((list) => list.summary)).toEqual([
      { name: "level1", path: file("level1.netset"), entries: 3, ranges: 2, skipped: 1 },
      { name: "drop", path: file("drop.txt"), entries: 2, ranges: 2, skipped: 0 },
    ]);
    expect(lists[0]?.set.has("10.1.2.3")).toBe(true);
    expect(lists[1]?.set.has("2001:db8::1")).toBe(true);
  });

  it("accepts a list with no entries", async () => {
    const list = await loadBlocklist({ name: "empty", path: file("empty.ipset") });
    expect(list.summary).toMatchObject({ entries: 0, skipped: 0 });
  });

  it("fails naming the list and the file when the file cannot be read", async () => {
    const missing = file("missing.netset");
    const error = await loadBlocklist({ name: "gone", path: missing }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BlocklistLoadError);
    expect(error).toMatchObject({
      code: "ip_reputation.blocklist_unusable",
      retryable: false,
      list: "gone",
      path: missing,
    });
    expect((error as Error).message).toContain(`IP blocklist "gone" (${missing}) cannot be used: ENOENT`);
  });

  it("fails when not one line is an address: most likely the wrong file", async () => {
    await expect(loadBlocklist({ name: "page", path: file("page.html") })).rejects.toThrow(
      `IP blocklist "page" (${file("page.html")}) cannot be used: none of its 3 non-comment lines is an IP address or CIDR block`,
    );
  });

  it("fails as a whole when one of the lists fails", async () => {
    await expect(
      loadBlocklists([
        { name: "level1", path: file("level1.netset") },
        { name: "gone", path: file("missing.netset") },
      ]),
    ).rejects.toMatchObject({ list: "gone" });
  });
});
