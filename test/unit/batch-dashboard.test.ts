// The dashboard's batches page, rendered: each batch with its progress counts, status and link, escaped.
import { describe, expect, it } from "vitest";
import type { Batch } from "../../src/contract/batches";
import { BatchesPage } from "../../src/dashboard/pages/batches";

const batch = (over: Partial<Batch>): Batch => ({
  id: "bat_01JABCDEFGHJKMNPQRSTVWXYZ0",
  status: "running",
  description: null,
  total: 5000,
  pending: 1200,
  succeeded: 3700,
  dead: 90,
  cancelled: 10,
  open: false,
  createdAt: "2026-12-02T06:00:00.000Z",
  finishedAt: null,
  callbackUrl: null,
  onSuccess: null,
  onComplete: null,
  callback: null,
  ...over,
});

describe("BatchesPage", () => {
  it("lists each batch with finished/total, its dead and cancelled counts, its status and a link to it", async () => {
    const html = String(
      await BatchesPage({
        session: { tenant: "t", keyId: "k", csrf: "c" },
        flash: null,
        batches: [
          batch({ description: "<b>import</b>" }),
          batch({
            id: "bat_01JABCDEFGHJKMNPQRSTVWXYZ1",
            status: "succeeded",
            succeeded: 3,
            dead: 0,
            cancelled: 0,
            total: 3,
            pending: 0,
            open: false,
          }),
        ],
        nextCursor: "bat_01JABCDEFGHJKMNPQRSTVWXYZ1",
        now: Date.parse("2026-12-02T06:10:00.000Z"),
      }),
    );
    expect(html).toContain('href="/dashboard/batches/bat_01JABCDEFGHJKMNPQRSTVWXYZ0"');
    expect(html).toMatch(/<span data-counts="?[^>]*>3800\/5000<\/span>/);
    expect(html).toContain("90 dead");
    expect(html).toContain("10 cancelled");
    expect(html).toMatch(/<span data-counts="?[^>]*>3\/3<\/span>/);
    expect(html).toContain("succeeded");
    // A description is the user's text: shown escaped, never as markup.
    expect(html).toContain("&lt;b&gt;import&lt;/b&gt;");
    expect(html).toContain("cursor=bat_01JABCDEFGHJKMNPQRSTVWXYZ1");
  });
});
