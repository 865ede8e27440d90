/**
 * Stage D gate: axe-core, run in the page, finds no serious or critical
 * violation on the dashboard and the node page, at 1280 px and at phone
 * width, with and without the confirmation dialog open; and the controls
 * work from the keyboard.
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { eventually, launchBrowser, signedInPage, startFleet, waitHydrated } from "./_harness.ts";

const AXE_SOURCE = readFileSync(
  new URL("../../../node_modules/axe-core/axe.min.js", import.meta.url),
  "utf8",
);
const PHONE = { width: 390, height: 844 };

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Serious and critical violations on the page as it is now. */
async function axe(page: Page): Promise<string[]> {
  // evaluate() is not subject to the page's Content-Security-Policy, unlike an injected <script>.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } })
      .axe
      .run();
    return result.violations;
  }) as Violation[];
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** True when nothing is wider than the viewport, so the page works without sideways scrolling. */
function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= globalThis.innerWidth);
}

Deno.test({
  name: "console accessibility in Chromium",
  // The fleet, the console's pollers and the browser live across the steps; the finally block closes them all.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fleet = await startFleet("a11y");
    const browser = await launchBrowser();
    const errors: string[] = [];
    try {
      const page = await signedInPage(browser, fleet, errors);
      await eventually(
        async () => await page.locator('table[data-table="nodes"] tr[data-state="UNKNOWN"]').count() === 0,
        // The hanging node leaves UNKNOWN after requestTimeoutMs (3 s); generous for a loaded machine.
        30_000,
        "every node polled",
      );

      await t.step("dashboard at 1280 px: no serious or critical violation", async () => {
        assertEquals(await axe(page), []);
      });

      await t.step("dashboard with the confirmation dialog open, from the keyboard", async () => {
        const button = page.getByRole("button", { name: "Flush all indexes of Alpha" });
        await button.focus();
        await page.keyboard.press("Enter");
        const dialog = page.getByRole("dialog");
        await dialog.waitFor();
        assertEquals(await axe(page), []);
        // Focus is inside the dialog; Escape closes it without acting and gives focus back.
        assert(
          await page.evaluate(() => document.activeElement?.closest("dialog") !== null),
          "focus in dialog",
        );
        await page.keyboard.press("Escape");
        await dialog.waitFor({ state: "detached" });
        assertEquals(
          await page.evaluate(() => document.activeElement?.textContent),
          "Flush all indexes of Alpha",
        );
        assertEquals(await page.locator('[role="status"] [data-status]').count(), 0, "nothing was sent");
      });

      await t.step("node page at 1280 px: no serious or critical violation", async () => {
        await page.goto(`${fleet.url}nodes/alpha`);
        await waitHydrated(page);
        await page.locator('[data-config-editor] [data-field="revision"]').waitFor();
        assertEquals(await axe(page), []);
      });

      await t.step("phone width: both pages pass axe and fit the screen", async () => {
        const phone = await signedInPage(browser, fleet, errors, PHONE);
        assertEquals(await axe(phone), []);
        assert(await fitsWidth(phone), "dashboard wider than a phone");
        await phone.goto(`${fleet.url}nodes/alpha`);
        await waitHydrated(phone);
        assertEquals(await axe(phone), []);
        assert(await fitsWidth(phone), "node page wider than a phone");
        await phone.close();
      });

      assertEquals(errors, [], "no page errors");
    } finally {
      await browser.close();
      await fleet.close();
    }
  },
});
