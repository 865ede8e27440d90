/**
 * Stage D gate: the dashboard and node detail render reachable and
 * unreachable nodes, in headless Chromium against real agents.
 *
 * @module
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { NodeReportSchema, REPORT } from "../../../agent/api/mod.ts";
import { SegmentIndex } from "../../../engine/mod.ts";
import {
  eventually,
  keyOf,
  launchBrowser,
  settles,
  signedInPage,
  startFleet,
  waitHydrated,
} from "./_harness.ts";

const count = (text: string | null) => Number((text ?? "").replaceAll(",", ""));

Deno.test({
  name: "console dashboard in Chromium",
  // The fleet, the console's pollers and the browser live across the steps; the finally block closes them all.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fleet = await startFleet("dashboard");
    const browser = await launchBrowser();
    const errors: string[] = [];
    try {
      const page = await signedInPage(browser, fleet, errors);
      const row = (id: string) => page.locator(`table[data-table="nodes"] tr[data-node-id="${id}"]`);

      await t.step("every node shows its own state and reason", async () => {
        const expected: Record<string, string> = {
          alpha: "UP",
          beta: "UP",
          gamma: "UP",
          down: "DOWN",
          slow: "TIMEOUT",
          badauth: "AUTH_FAILED",
        };
        await eventually(
          async () => {
            for (const [id, state] of Object.entries(expected)) {
              if (await row(id).getAttribute("data-state") !== state) return false;
            }
            return true;
          },
          // A wait, not a bound the console promises (failure_modes_test.ts holds it to 10 s per change):
          // generous for a loaded machine, where the first TIMEOUT alone takes requestTimeoutMs.
          30_000,
          "every row in its expected state",
        );
        // The state is written out, not only coloured.
        const badge = await row("badauth").locator("[data-state]").first().innerText();
        assertEquals(badge.replace(/\s+/g, " ").trim(), "✖ AUTH FAILED");
        assertEquals(await row("down").locator('[data-field="reason"]').innerText(), "Connection refused");
        assertEquals(
          await row("slow").locator('[data-field="reason"]').innerText(),
          `No answer within ${fleet.requestTimeoutMs} ms`,
        );
        assertMatch(
          await row("badauth").locator('[data-field="reason"]').innerText(),
          /^The agent refused the console's token \(401 UNAUTHORIZED\): /,
        );
        assertEquals(await row("down").locator('[data-field="last-seen"]').innerText(), "never");
        // The three real agents are UP again at the next poll should one poll of them have timed out on a
        // loaded machine since the states above were read.
        await settles(async () => {
          assertEquals(await row("alpha").locator('[data-field="reason"]').count(), 0);
          const reachable = await page.locator('[data-total="reachable"] [data-field="value"]').innerText();
          assertEquals(reachable, "3 of 6");
        }, 10_000);
      });

      await t.step("UP nodes show the numbers of their /api/v1/report", async () => {
        for (const agent of [fleet.alpha, fleet.beta, fleet.gamma]) {
          const report = NodeReportSchema.parse(await (await agent.call("GET", REPORT)).json());
          // A row is stale ("last known" under its count) for a round should a poll have timed out on a
          // loaded machine: the figures must be the report's once the node is read again.
          await settles(async () => {
            let keys = 0;
            for (const s of report.indexes) {
              keys += s.segments.totalKeys;
              const cells = page.locator(`tr[data-node-id="${agent.id}"][data-index="${s.indexName}"]`);
              const cell = async (field: string) =>
                count(await cells.locator(`[data-field="${field}"]`).innerText());
              assertEquals(await cell("totalKeys"), s.segments.totalKeys, `${agent.id}/${s.indexName} keys`);
              assertEquals(await cell("segments"), s.segments.count, `${agent.id}/${s.indexName} segments`);
              assertEquals(await cell("gets"), s.operations.gets, `${agent.id}/${s.indexName} gets`);
              assertEquals(await cell("puts"), s.operations.puts, `${agent.id}/${s.indexName} puts`);
              assertEquals(await cell("deletes"), s.operations.deletes, `${agent.id}/${s.indexName} deletes`);
            }
            assertEquals(count(await row(agent.id).locator('[data-field="keys"]').innerText()), keys);
            assertEquals(
              count(await row(agent.id).locator('[data-field="indexes"]').innerText()),
              report.indexes.length,
            );
          }, 10_000);
        }
      });

      await t.step("the hanging node does not delay the others: their requests overlap its", async () => {
        // A hung request (from its arrival until the console dropped it) during which every other agent
        // received and answered a complete request: polling that waited on the hung node could not do that.
        await eventually(
          () => fleet.hanging.spans.filter((s) => s.end !== null).length >= 2,
          // Each hang lasts requestTimeoutMs (3 s); generous for a loaded machine.
          30_000,
          "two hangs",
        );
        const hung = fleet.hanging.spans.filter((s) => s.end !== null);
        const inside = (agentSpans: typeof hung) =>
          hung.some((h) =>
            agentSpans.some((s) => s.path === REPORT && s.start >= h.start && s.end! <= h.end!)
          );
        for (const agent of [fleet.alpha, fleet.beta, fleet.gamma, fleet.badauth]) {
          assert(inside(agent.spans.filter((s) => s.end !== null)), `${agent.id} answered while slow hung`);
        }
      });

      await t.step("live updates change the page without a reload, rates included", async () => {
        await page.evaluate(() => (globalThis as { marker?: number }).marker = 42);
        const refreshed = await page.locator('[data-field="last-refresh"]').innerText();
        const orders = fleet.alpha.indexes.get("orders")!;
        const stop = performance.now() + 3000;
        let i = 10_000;
        while (performance.now() < stop) {
          const batch: Promise<void>[] = [];
          for (let j = 0; j < 50; j++) batch.push(orders.put(keyOf(i++), "live"));
          await Promise.all(batch);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const puts = orders.metrics().operations.puts;
        const cell = page.locator('tr[data-node-id="alpha"][data-index="orders"] [data-field="puts"]');
        await eventually(
          async () => count(await cell.innerText()) === puts,
          // A wait for the next poll (every 400 ms) to reach the page, generous for a loaded machine.
          30_000,
          "the puts cell follows the index",
        );
        // Read until they settle: a poll of alpha timed out on a loaded machine leaves its row stale for a round.
        await settles(async () => {
          const rate = Number(
            await page.locator('tr[data-node-id="alpha"][data-index="orders"] [data-field="writeRate"]')
              .innerText().then((t) => t.replaceAll(",", "")),
          );
          assert(!Number.isNaN(rate) && rate >= 0, `write rate ${rate}`);
          assert(
            await page.locator('tr[data-node-id="alpha"] svg[role="img"] polyline').count() > 0,
            "sparkline",
          );
        }, 10_000);
        assert(
          await page.locator('[data-field="last-refresh"]').innerText() !== refreshed,
          "last refresh moved",
        );
        assertEquals(await page.evaluate(() => (globalThis as { marker?: number }).marker), 42, "no reload");
      });

      await t.step("a reopened index (counters restart) never shows a negative rate", async () => {
        const old = fleet.alpha.indexes.get("users")!;
        const path = `${fleet.dir}/alpha/users`;
        await old.close();
        const reopened = await SegmentIndex.open(path, { name: "users" });
        fleet.alpha.indexes.set("users", reopened);
        const cells = page.locator('tr[data-node-id="alpha"][data-index="users"]');
        await eventually(
          async () => count(await cells.locator('[data-field="gets"]').innerText()) === 0,
          // A wait for the next poll to reach the page, generous for a loaded machine.
          30_000,
          "reset",
        );
        for (let k = 0; k < 5; k++) {
          for (const field of ["readRate", "writeRate"]) {
            const text = await cells.locator(`[data-field="${field}"]`).innerText();
            assert(text === "—" || Number(text.replaceAll(",", "")) >= 0, `${field} ${text}`);
          }
          await page.waitForTimeout(200);
        }
      });

      await t.step("node detail shows each index's groups with the report's figures", async () => {
        await page.getByRole("link", { name: "Alpha" }).click();
        await page.waitForURL(`${fleet.url}nodes/alpha`);
        await waitHydrated(page);
        const report = NodeReportSchema.parse(await (await fleet.alpha.call("GET", REPORT)).json());
        for (const s of report.indexes) {
          const section = page.locator(`section[data-index="${s.indexName}"]`);
          for (const group of ["Operations", "Latency", "Segments", "Caches", "Bloom filter", "Write path"]) {
            assertEquals(
              await section.locator(`[data-group="${group}"]`).count(),
              1,
              `${s.indexName} ${group}`,
            );
          }
          for (const group of ["Maintenance", "Split", "Write-ahead log"]) {
            assertEquals(
              await section.locator(`[data-group="${group}"]`).count(),
              1,
              `${s.indexName} ${group}`,
            );
          }
          const field = (name: string) => section.locator(`[data-field="${name}"]`).innerText();
          assertEquals(count(await field("totalKeys")), s.segments.totalKeys);
          assertEquals(count(await field("bloomRequests")), s.bloomFilter.requests);
          const negatives = s.bloomFilter.refused + s.bloomFilter.falsePositives;
          assertEquals(
            await field("measuredFp"),
            negatives === 0 ? "—" : `${(s.bloomFilter.falsePositives / negatives * 100).toFixed(1)} %`,
          );
          assertMatch(await field("getP99"), /^[\d.,]+ (µs|ms|s)$/);
          assertEquals(await field("durability"), s.wal.durability);
        }
      });

      assertEquals(errors, [], "no page errors");
    } finally {
      await browser.close();
      await fleet.close();
    }
  },
});
