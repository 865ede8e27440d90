/**
 * Stage B's rollback check. Removing the exporter costs the engine nothing:
 * engine/mod.ts reaches no exporters/ module and no npm package (the engine
 * working on its own is EngineStandaloneRollbackTest's part). And the
 * exporter degrades cleanly: with no index registered it serves an empty
 * but valid exposition, checked by promtool and prometheus_client. Its own
 * graph holds only engine and exporter modules, with no package.
 *
 * @module
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { createMetricsHandler } from "../../exporters/mod.ts";
import { moduleGraph, ROOT, specifiersOf } from "../_module_graph.ts";
import { parseStrict, promtoolCheck } from "./_oracles.ts";

const ENGINE = `file://${ROOT}engine/`;
const EXPORTERS = `file://${ROOT}exporters/`;

describe("exporter rollback", () => {
  it("engine/mod.ts's module graph has no exporters/ module and no npm package", () => {
    const graph = moduleGraph("engine/mod.ts");
    const specifiers = specifiersOf(graph);
    assertGreater(specifiers.length, 10);
    assertEquals(specifiers.filter((s) => s.startsWith(EXPORTERS)), []);
    assertEquals(specifiers.filter((s) => s.startsWith("npm:")), []);
    assertEquals(Object.keys(graph.npmPackages ?? {}), []);
  });

  it("exporters/mod.ts reaches only engine and exporter modules, and imports no package itself", () => {
    const graph = moduleGraph("exporters/mod.ts");
    const specifiers = specifiersOf(graph);
    // node: built-ins come from the engine's file system adapter, never from exporters/.
    const foreign = specifiers.filter((s) =>
      !s.startsWith(ENGINE) && !s.startsWith(EXPORTERS) && !s.startsWith("node:")
    );
    assertEquals(foreign, []);
    assertEquals(Object.keys(graph.npmPackages ?? {}), []);
    const exporterImports = graph.modules
      .filter((m) => m.specifier.startsWith(EXPORTERS))
      .flatMap((m) => (m.dependencies ?? []).map((d) => `${m.specifier} imports ${d.specifier}`))
      .filter((line) => !/ imports \.\.?\//.test(line));
    assertEquals(exporterImports, []);
    assert(specifiers.includes(`${EXPORTERS}mod.ts`));
  });

  for (const accept of ["text/plain", "application/openmetrics-text"]) {
    it(`serves an empty but valid exposition with no index registered (Accept: ${accept})`, async () => {
      const handler = createMetricsHandler({ indexes: () => [], version: "0.1.0", runtime: "test" });
      const response = await handler(
        new Request("http://localhost/metrics", { headers: { Accept: accept } }),
      );
      assertEquals(response.status, 200);
      const body = await response.text();
      const format = accept === "text/plain" ? "prometheus-0.0.4" : "openmetrics-1.0.0";
      if (format === "prometheus-0.0.4") assertEquals(promtoolCheck(body), { code: 0, output: "" });
      const parsed = parseStrict(body, format);
      assertEquals(parsed.samples, [
        ["hestiastore_build_info", [["runtime", "test"], ["version", "0.1.0"]], "1.0"],
      ]);
    });
  }
});
