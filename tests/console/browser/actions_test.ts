/**
 * Stage D gate: flush and compact through clicks — confirmation, pending
 * state, result with requestId, the agent's audit naming the signed-in
 * person — and the agent's refusals (403, 429, 409) shown with their own
 * code and message; CSRF refusal.
 *
 * @module
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { CONFIG, ConfigViewSchema } from "../../../agent/api/mod.ts";
import { type Fleet, launchBrowser, signedInPage, startFleet, USER, waitHydrated } from "./_harness.ts";
import type { Page } from "playwright-core";

const REQUEST_ID = /^console-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Starts recording every text the status banner and the action buttons show, so a brief state is not missed. */
async function recordStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (globalThis as { seen?: string[] }).seen = seen;
    const snapshot = () => {
      for (const b of document.querySelectorAll("button[data-action]")) {
        if (b.getAttribute("aria-busy") === "true") seen.push(`busy:${b.textContent}`);
      }
      const status = document.querySelector('[role="status"] [data-status]');
      if (status) seen.push(`status:${status.getAttribute("data-status")}`);
    };
    new MutationObserver(snapshot).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
    });
  });
}

function seen(page: Page): Promise<string[]> {
  return page.evaluate(() => (globalThis as { seen?: string[] }).seen ?? []);
}

/** Clicks an action button, confirms, and waits for the banner's final status. */
async function act(page: Page, button: string, confirm: string): Promise<string> {
  await page.getByRole("button", { name: button }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  await dialog.getByRole("button", { name: confirm }).click();
  const banner = page.locator('[role="status"] [data-status]').first();
  await page.waitForFunction(() => {
    const s = document.querySelector('[role="status"] [data-status]')?.getAttribute("data-status");
    return s !== undefined && s !== null && s !== "PENDING" && s !== "SENDING";
  });
  return await banner.getAttribute("data-status") ?? "";
}

async function bannerText(page: Page, field: string): Promise<string> {
  return await page.locator(`[role="status"] [data-status] [data-field="${field}"]`).innerText();
}

function auditOf(fleet: Fleet, agent: "alpha" | "beta" | "gamma", requestId: string) {
  return fleet[agent].auditEntries().filter((e) => e.requestId === requestId);
}

Deno.test({
  name: "console actions in Chromium",
  // The fleet, the console's pollers and the browser live across the steps; the finally block closes them all.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fleet = await startFleet("actions");
    const browser = await launchBrowser();
    const errors: string[] = [];
    try {
      const page = await signedInPage(browser, fleet, errors);
      await page.locator('tr[data-node-id="gamma"][data-state="UP"]').waitFor();

      for (const [verb, busy] of [["Flush", "Flushing…"], ["Compact", "Compacting…"]]) {
        const endpoint = `/api/v1/actions/${verb.toLowerCase()}`;

        await t.step(
          `${verb.toLowerCase()} a node: confirmation, pending, COMPLETED with requestId, audited`,
          async () => {
            await page.goto(fleet.url);
            await waitHydrated(page);
            await recordStates(page);
            assertEquals(await act(page, `${verb} all indexes of Alpha`, `${verb} now`), "COMPLETED");
            const states = await seen(page);
            assert(states.includes(`busy:${busy} all indexes of Alpha`), `pending button: ${states}`);
            const requestId = await bannerText(page, "requestId");
            assertMatch(requestId, REQUEST_ID);
            const results = await page.locator('[role="status"] [data-status] li').allInnerTexts();
            assertEquals(results.map((r) => r.split(":")[0]), ["orders", "users"]);
            assert(results.every((r) => r.includes("COMPLETED")), String(results));
            const audit = auditOf(fleet, "alpha", requestId);
            assertEquals(audit.map((e) => [e.phase, e.actor, e.endpoint, e.outcome ?? null]), [
              ["intent", USER, endpoint, null],
              ["outcome", USER, endpoint, "SUCCEEDED"],
            ]);
            await page.locator(`table[data-table="history"] tr[data-request-id="${requestId}"]`).waitFor();
          },
        );

        await t.step(
          `${verb.toLowerCase()} one index from the node page: only that index, audited`,
          async () => {
            await page.goto(`${fleet.url}nodes/alpha`);
            await waitHydrated(page);
            await recordStates(page);
            assertEquals(await act(page, `${verb} index orders of Alpha`, `${verb} now`), "COMPLETED");
            assert((await seen(page)).includes(`busy:${busy} index orders of Alpha`));
            const requestId = await bannerText(page, "requestId");
            assertMatch(requestId, REQUEST_ID);
            const results = await page.locator('[role="status"] [data-status] li').allInnerTexts();
            assertEquals(results.length, 1);
            assertMatch(results[0], /^orders: COMPLETED in \d+ ms$/);
            const audit = auditOf(fleet, "alpha", requestId);
            assertEquals(audit.map((e) => [e.phase, e.actor, e.endpoint, e.outcome ?? null]), [
              ["intent", USER, endpoint, null],
              ["outcome", USER, endpoint, "SUCCEEDED"],
            ]);
          },
        );
      }

      await t.step("a READ-only token: 403 FORBIDDEN with the agent's message", async () => {
        await page.goto(fleet.url);
        await waitHydrated(page);
        const status = await act(page, "Flush all indexes of Gamma", "Flush now");
        assertEquals(status, "REJECTED");
        assertEquals(await bannerText(page, "code"), "403 FORBIDDEN:");
        const message = await bannerText(page, "message");
        assert(message.length > 0 && !/^failed$/i.test(message), message);
      });

      await t.step("the agent's rate limit: 429 RATE_LIMITED with the time to wait", async () => {
        assertEquals(await act(page, "Compact all indexes of Beta", "Compact now"), "COMPLETED");
        assertEquals(await act(page, "Compact all indexes of Beta", "Compact now"), "REJECTED");
        assertEquals(await bannerText(page, "code"), "429 RATE_LIMITED:");
        const retry = await bannerText(page, "retry-after");
        const seconds = Number(/Retry after (\d+) s/.exec(retry)?.[1]);
        assert(seconds > 60 && seconds <= 3600, retry);
      });

      await t.step(
        "configuration: the agent's message at the field, 409 on a stale revision, then apply",
        async () => {
          await page.goto(`${fleet.url}nodes/alpha`);
          await waitHydrated(page);
          const editor = page.locator("[data-config-editor]");
          await editor.locator('[data-field="revision"]').waitFor();
          const input = editor.getByLabel("segmentCacheLimit");
          await input.fill("0");
          await editor.getByRole("button", { name: "Validate" }).click();
          const problem = editor.locator('tr[data-key="segmentCacheLimit"] [data-field="problem"]');
          await problem.waitFor();
          assertMatch(await problem.innerText(), /segmentCacheLimit/);
          assertEquals(await input.getAttribute("aria-invalid"), "true");

          // Someone else changes the configuration meanwhile.
          const before = ConfigViewSchema.parse(
            await (await fleet.alpha.call("GET", `${CONFIG}?indexName=orders`)).json(),
          );
          const other = await fleet.alpha.call("PATCH", `${CONFIG}?indexName=orders`, {
            values: { segmentCacheLimit: before.current.segmentCacheLimit + 1 },
            expectedRevision: before.revision,
          });
          assertEquals(other.status, 200);
          await input.fill("24");
          await editor.getByRole("button", { name: "Apply changes" }).click();
          const message = editor.locator("[data-config-message]");
          await message.waitFor();
          assertMatch(await message.innerText(), /409 REVISION_CONFLICT: /);

          await editor.getByRole("button", { name: "Reload" }).click();
          await page.waitForFunction(() =>
            document.querySelector('[data-config-editor] [data-field="revision"]')?.textContent !== "0"
          );
          await input.fill("24");
          await editor.getByRole("button", { name: "Apply changes" }).click();
          await editor.locator('[data-config-message="ok"]').waitFor();
          const after = ConfigViewSchema.parse(
            await (await fleet.alpha.call("GET", `${CONFIG}?indexName=orders`)).json(),
          );
          assertEquals(after.current.segmentCacheLimit, 24);
          const patches = fleet.alpha.auditEntries().filter((e) =>
            e.method === "PATCH" && e.phase === "outcome"
          );
          assertEquals(patches.map((e) => [e.actor, e.outcome]), [
            [USER, "REJECTED"],
            [null, "SUCCEEDED"],
            [USER, "REJECTED"],
            [USER, "SUCCEEDED"],
          ]);
        },
      );

      await t.step(
        "CSRF: an action without the page's token is refused and never reaches the agent",
        async () => {
          const auditBefore = fleet.alpha.auditEntries().length;
          const answers = await page.evaluate(async () => {
            const post = (headers: Record<string, string>) =>
              fetch("/api/nodes/alpha/actions/flush", {
                method: "POST",
                headers: { "content-type": "application/json", ...headers },
                body: "{}",
              }).then(async (r) => [r.status, (await r.json()).code]);
            return [await post({}), await post({ "X-CSRF-Token": "forged" })];
          });
          assertEquals(answers, [[403, "CSRF_REJECTED"], [403, "CSRF_REJECTED"]]);
          assertEquals(fleet.alpha.auditEntries().length, auditBefore);
        },
      );

      assertEquals(errors, [], "no page errors");
    } finally {
      await browser.close();
      await fleet.close();
    }
  },
});
