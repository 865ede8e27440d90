/**
 * Stage D gate: failure modes while the console watches — an agent that
 * stops (DOWN), one that stops answering (TIMEOUT), one whose tokens no
 * longer include the console's (AUTH_FAILED) — each shown within 10 s and
 * cleared when the agent is back; an action on a node that is down.
 *
 * @module
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import type { Page } from "playwright-core";
import {
  eventually,
  launchBrowser,
  settles,
  signedInPage,
  startAgent,
  startFleet,
  startHangingServer,
} from "./_harness.ts";

const BOUND_MS = 10_000;

async function stateOf(page: Page, id: string): Promise<string | null> {
  return await page.locator(`table[data-table="nodes"] tr[data-node-id="${id}"]`).getAttribute("data-state");
}

function reasonOf(page: Page, id: string): Promise<string> {
  return page.locator(`table[data-table="nodes"] tr[data-node-id="${id}"] [data-field="reason"]`).innerText();
}

async function waitState(page: Page, id: string, state: string): Promise<void> {
  await eventually(async () => await stateOf(page, id) === state, BOUND_MS, `${id} shows ${state}`);
}

Deno.test({
  name: "console failure modes in Chromium",
  // The fleet, the console's pollers and the browser live across the steps; the finally block closes them all.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fleet = await startFleet("failures");
    const browser = await launchBrowser();
    const errors: string[] = [];
    const port = Number(new URL(fleet.alpha.url).port);
    try {
      const page = await signedInPage(browser, fleet, errors);
      await waitState(page, "alpha", "UP");

      await t.step("an agent that stops turns DOWN within 10 s, and UP again after its restart", async () => {
        await fleet.alpha.stop();
        await waitState(page, "alpha", "DOWN");
        assertMatch(await reasonOf(page, "alpha"), /^Connection (refused|reset)$/);
        const lastSeen = await page.locator('tr[data-node-id="alpha"] [data-field="last-seen"]').innerText();
        assertMatch(lastSeen, /ago|just now/);
        const stale = page.locator('table[data-table="indexes"] tr[data-node-id="alpha"]').first();
        assertMatch(await stale.innerText(), /last known/);
        // beta and gamma answer from this process: on a loaded machine one of their polls may time out for
        // a round, so the total is read until it settles.
        await settles(async () => {
          const reachable = await page.locator('[data-total="reachable"] [data-field="value"]').innerText();
          assertEquals(reachable, "2 of 6");
        }, BOUND_MS);
        await fleet.alpha.start();
        await waitState(page, "alpha", "UP");
        assertEquals(await page.locator('tr[data-node-id="alpha"] [data-field="reason"]').count(), 0);
      });

      await t.step("an agent that stops answering turns TIMEOUT, and UP again when it answers", async () => {
        await fleet.alpha.stop();
        const hanging = await startHangingServer(port);
        try {
          await waitState(page, "alpha", "TIMEOUT");
          assertEquals(await reasonOf(page, "alpha"), `No answer within ${fleet.requestTimeoutMs} ms`);
        } finally {
          await hanging.close();
        }
        await fleet.alpha.start();
        await waitState(page, "alpha", "UP");
      });

      await t.step(
        "an agent that no longer knows the console's token turns AUTH_FAILED, then UP",
        async () => {
          await fleet.alpha.stop();
          const rotated = await startAgent(fleet.dir, { id: "alpha-rotated", indexes: {}, port });
          try {
            await waitState(page, "alpha", "AUTH_FAILED");
            assertMatch(await reasonOf(page, "alpha"), /\(401 UNAUTHORIZED\)/);
            const badge = await page.locator('tr[data-node-id="alpha"] [data-state="AUTH_FAILED"]')
              .innerText();
            assert(/AUTH FAILED/.test(badge) && !/UNAVAILABLE/i.test(badge), badge);
          } finally {
            await rotated.close();
          }
          await fleet.alpha.start();
          await waitState(page, "alpha", "UP");
        },
      );

      await t.step("an action on a node that is down fails with NODE_DOWN and the reason", async () => {
        await page.getByRole("button", { name: "Flush all indexes of Down" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Flush now" }).click();
        const banner = page.locator('[role="status"] [data-status="FAILED"]');
        await banner.waitFor();
        assertEquals(await banner.locator('[data-field="code"]').innerText(), "NODE_DOWN:");
        assertEquals(await banner.locator('[data-field="message"]').innerText(), "Connection refused.");
      });

      assertEquals(errors, [], "no page errors");
    } finally {
      await browser.close();
      await fleet.close();
    }
  },
});
