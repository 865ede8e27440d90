/**
 * The workspace members and their one version: `exporters/version.ts`
 * holds it; every member's deno.json and the root's deno.json and
 * package.json repeat it, and `deno task dist` stamps it on each npm
 * package and on their dependencies on each other.
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { existsSync, readFileSync } from "node:fs";
import { VERSION } from "../../exporters/version.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

interface Manifest {
  name?: string;
  version?: string;
  exports?: Record<string, string>;
  workspace?: string[];
}

function manifest(path: string): Manifest {
  return JSON.parse(readFileSync(`${ROOT}${path}`, "utf8")) as Manifest;
}

const MEMBERS = ["engine", "exporters", "agent", "console", "cli"];

describe("workspace", () => {
  it("lists one member per module and the CLI", () => {
    assertEquals(manifest("deno.json").workspace, MEMBERS.map((m) => `./${m}`));
  });

  it("every member, the root deno.json and package.json carry the version of exporters/version.ts", () => {
    for (const file of ["deno.json", "package.json", ...MEMBERS.map((m) => `${m}/deno.json`)]) {
      assertEquals(manifest(file).version, VERSION, file);
    }
  });

  it("every member is named @hestiastore/<folder> and exports files that exist", () => {
    for (const member of MEMBERS) {
      const { name, exports } = manifest(`${member}/deno.json`);
      assertEquals(name, `@hestiastore/${member}`);
      assert(exports?.["."], `${member}/deno.json exports "."`);
      for (const target of Object.values(exports)) {
        assert(existsSync(`${ROOT}${member}/${target}`), `${member}/deno.json exports missing ${target}`);
      }
    }
  });
});
