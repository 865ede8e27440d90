/**
 * Stage A's rollback check: the engine stands alone. `deno info` of
 * engine/mod.ts lists no module outside engine/ but runtime built-ins (no
 * exporter, agent, console or package), and an index opens, writes, reads, closes and reopens on the
 * real file system with only the engine loaded. Deno only: it runs `deno info`.
 *
 * @module
 */
import { assertEquals, assertGreater } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { moduleGraph, ROOT, specifiersOf } from "../_module_graph.ts";

describe("EngineStandaloneRollbackTest", () => {
  it("engine/mod.ts loads no module outside engine/", () => {
    const specifiers = specifiersOf(moduleGraph("engine/mod.ts"));
    // Runtime built-ins (node:fs and friends, which Deno and Node both provide) are not modules of ours.
    const outside = specifiers.filter((s) =>
      !s.startsWith(`file://${ROOT}engine/`) && !s.startsWith("node:")
    );
    assertEquals(outside, []);
    assertGreater(specifiers.length, 10);
  });

  it("opens, writes, reads, closes and reopens with only the engine loaded", async () => {
    const dir = mkdtempSync(`${tmpdir()}/hestia-rollback-`);
    try {
      // Loaded in a fresh process, so nothing but the engine can be in its module graph.
      const script = `
        import { SegmentIndex } from "${ROOT}engine/mod.ts";
        const index = await SegmentIndex.create("${dir}/db");
        await index.put("a", "1");
        await index.delete("a");
        await index.put("b", "2");
        if (index.get("b") !== "2" || index.get("a") !== undefined) throw new Error("read back wrong");
        await index.close();
        const again = await SegmentIndex.open("${dir}/db");
        const all = [...again.range()];
        await again.close();
        console.log(JSON.stringify(all));
      `;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", script],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), [["b", "2"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
