/**
 * Installs the npm packages with `npm ci` when `node_modules` is missing or
 * was installed from another `package-lock.json`. The first step of
 * `deno task gates` and `deno task serve`, so a fresh clone needs nothing
 * but Node 20 and npm.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fromFileUrl } from "./_paths.ts";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const STAMP = `${ROOT}node_modules/.hestiastore-deps`;

function lockHash(): string {
  const hash = createHash("sha256");
  for (const file of ["package.json", "package-lock.json"]) hash.update(readFileSync(`${ROOT}${file}`));
  return hash.digest("hex");
}

const want = lockHash();
const have = existsSync(STAMP) ? readFileSync(STAMP, "utf8").trim() : "";
if (have !== want) {
  console.error("Installing npm packages (npm ci)…");
  const npm = new Deno.Command("npm", {
    args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await npm.output();
  if (code !== 0) {
    console.error(`npm ci failed with exit code ${code}`);
    Deno.exit(code);
  }
  writeFileSync(STAMP, want + "\n");
}
