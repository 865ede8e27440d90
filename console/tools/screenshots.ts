/**
 * Regenerates the console screenshots of the docs, `docs/images/dashboard.png`
 * and `docs/images/node-detail.png`, from a demo fleet (real agents with a
 * steady load, one node down, one that never answers) in headless Debian
 * Chromium.
 *
 * ```sh
 * deno run -A console/tools/screenshots.ts
 * ```
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { createConsole, hashPassword } from "../mod.ts";
import { startDemoFleet } from "./_demo_fleet.ts";

const OUT = new URL("../../docs/images/", import.meta.url).pathname;
const USER = "alice";
const PASSWORD = "screenshot password";
/** Polls before the pictures are taken, so the sparklines have a history. */
const WARM_UP_MS = 20_000;

const fleet = await startDemoFleet({
  agents: [
    { id: "eu-1", name: "orders-eu-1", indexes: { orders: 20_000, customers: 5_000 } },
    { id: "eu-2", name: "orders-eu-2", indexes: { orders: 18_000, customers: 4_000 } },
    { id: "us-1", name: "analytics-us-1", indexes: { events: 30_000 } },
  ],
  down: ["cache-eu-3"],
  hanging: ["batch-us-2"],
  opsPerSecond: 400,
});
const consoleServer = await createConsole({
  nodes: fleet.nodes,
  users: [{ name: USER, passwordHash: await hashPassword(PASSWORD, 100_000) }],
  pollIntervalMs: 1000,
  requestTimeoutMs: 1500,
});
const { serveConsole } = "Deno" in globalThis ? await import("../deno.ts") : await import("../node.ts");
const served = await serveConsole(consoleServer, { port: 0 });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-sync",
  ],
});
try {
  mkdirSync(OUT, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(served.url);
  await page.getByLabel("User name").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(served.url);
  await page.waitForTimeout(WARM_UP_MS);
  await page.getByRole("button", { name: "Flush all indexes of orders-eu-1" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Flush now" }).click();
  await page.locator('[role="status"] [data-status="COMPLETED"]').waitFor();
  await page.screenshot({ path: `${OUT}dashboard.png`, fullPage: true });
  await page.goto(`${served.url}nodes/eu-1`);
  await page.setViewportSize({ width: 1280, height: 1400 });
  await page.locator('[data-config-editor] [data-field="revision"]').waitFor();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${OUT}node-detail.png` });
  console.log(`Wrote ${OUT}dashboard.png and ${OUT}node-detail.png`);
} finally {
  await browser.close();
  await served.shutdown();
  await fleet.close();
}
