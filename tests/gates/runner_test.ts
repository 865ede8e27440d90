import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseJunit } from "./_junit.ts";
import { parsePlan, selectStages, STAGE_ORDER } from "./_plan.ts";
import { renderTable, summaryLine } from "./_table.ts";
import { binomialCdf, medianWithLowerBound } from "./_stats.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

const DENO_XML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="4" failures="1" errors="0" time="0.012">
    <testsuite name="./a_test.ts" tests="4" disabled="1" errors="0" failures="1">
        <testcase name="suite &gt; passes" classname="./a_test.ts" time="0.001">
        </testcase>
        <testcase name="suite &gt; fails" classname="./a_test.ts" time="0.002">
            <failure message="boom">AssertionError: boom</failure>
        </testcase>
        <testcase name="suite &gt; skipped" classname="./a_test.ts" time="0.000">
            <skipped/>
        </testcase>
        <testcase name="top" classname="./a_test.ts" time="0.000" line="48" col="9">
        </testcase>
    </testsuite>
</testsuites>`;

const NODE_XML = `<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testsuite name="suite" time="0.003" disabled="0" errors="0" tests="3" failures="1" skipped="1">
		<testcase name="passes" time="0.001" classname="test"/>
		<testcase name="fails" time="0.000" classname="test" failure="boom">
			<failure type="testCodeFailure" message="boom">Error: boom &lt;x&gt;</failure>
		</testcase>
		<testcase name="skipped" time="0.000" classname="test">
			<skipped type="skipped" message="true"/>
		</testcase>
	</testsuite>
	<testcase name="top" time="0.000" classname="test"/>
	<!-- tests 4 -->
</testsuites>`;

describe("parseJunit()", () => {
  it("counts Deno's report, unescaping case names", () => {
    assertEquals(parseJunit(DENO_XML), { passed: 2, failed: 1, skipped: 1, failures: ["suite > fails"] });
  });
  it("counts Node's report, including self-closing cases outside suites", () => {
    assertEquals(parseJunit(NODE_XML), { passed: 2, failed: 1, skipped: 1, failures: ["fails"] });
  });
  it("counts an empty report as zero cases", () => {
    assertEquals(parseJunit("<testsuites></testsuites>"), { passed: 0, failed: 0, skipped: 0, failures: [] });
  });
});

describe("parsePlan()", () => {
  it("accepts the tracked stages.json", () => {
    const plan = parsePlan(JSON.parse(Deno.readTextFileSync(`${ROOT}tests/gates/stages.json`)));
    assert(plan.has("base"));
    for (const name of plan.keys()) assert(STAGE_ORDER.includes(name));
  });
  it("rejects an unknown stage, a stage without gates and a gate of unknown kind", () => {
    assertThrows(() => parsePlan({ stages: { Z: { gates: [] } } }), TypeError, 'unknown stage "Z"');
    assertThrows(() => parsePlan({ stages: { A: { gates: [] } } }), TypeError, "lists no gates");
    assertThrows(
      () => parsePlan({ stages: { A: { gates: [{ name: "x", kind: "shell" }] } } }),
      TypeError,
      'unknown kind "shell"',
    );
    assertThrows(
      () => parsePlan({ stages: { A: { gates: [{ name: "x", kind: "node-test" }] } } }),
      TypeError,
    );
  });
});

describe("selectStages()", () => {
  it("selects every stage in rollout order when none is named", () => {
    assertEquals(selectStages([]), [...STAGE_ORDER]);
  });
  it("keeps rollout order whatever the argument order", () => {
    assertEquals(selectStages(["C", "A"]), ["A", "C"]);
  });
  it("rejects an unknown stage name", () => {
    assertThrows(() => selectStages(["E"]), TypeError, 'Unknown stage "E"');
  });
});

describe("renderTable() and summaryLine()", () => {
  it("aligns columns and prints the plain closing line", () => {
    const table = renderTable([
      {
        stage: "base",
        gate: "lint",
        result: "pass",
        cases: { passed: 1, failed: 0, skipped: 0 },
        seconds: 1.25,
      },
      { stage: "A", gate: "-", result: "not built" },
    ]);
    const lines = table.split("\n");
    assertEquals(lines.length, 4);
    assertStringIncludes(lines[2], "1 passed, 0 failed");
    assertStringIncludes(lines[2], "1.3 s");
    assertEquals(lines[0].indexOf("gate"), lines[2].indexOf("lint"));
    assertEquals(summaryLine(3, 1, 0), "3 passed, 1 failed");
    assertEquals(summaryLine(3, 0, 2), "3 passed, 0 failed, 2 skipped");
  });
});

describe("gates runner", () => {
  it("fails a stage whose gate files are missing or run no tests, and marks unlisted stages not built", async () => {
    const dir = "out/runner_test";
    mkdirSync(`${ROOT}${dir}/empty`, { recursive: true });
    writeFileSync(`${ROOT}${dir}/empty/nothing_test.ts`, "export {};\n");
    writeFileSync(
      `${ROOT}${dir}/plan.json`,
      JSON.stringify({
        stages: {
          durability: { gates: [{ name: "missing", kind: "deno-test", paths: [`${dir}/does_not_exist/`] }] },
          A: { gates: [{ name: "empty", kind: "deno-test", paths: [`${dir}/empty/`] }] },
        },
      }),
    );
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tests/gates/run.ts", "durability", "A", "B"],
      cwd: ROOT,
      env: { HESTIA_GATES_PLAN: `${dir}/plan.json`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(result.stdout);
    assertEquals(result.code, 1, out);
    assertStringIncludes(out, "gate files missing");
    assertStringIncludes(out, "ran zero test cases");
    assert(/^B\s+-\s+not built$/m.test(out), out);
    assertEquals(out.trimEnd().split("\n").at(-1), "0 passed, 2 failed");
  });
});

describe("medianWithLowerBound()", () => {
  it("takes the 4th smallest of 15 as the 95% lower bound, and the middle value as the median", () => {
    const values = Array.from({ length: 15 }, (_, i) => i / 100);
    assertEquals(medianWithLowerBound(values), { median: 0.07, lower: 0.03, rank: 4 });
  });
  it("keeps the bound's miss probability at or under 5% for other sizes", () => {
    for (const n of [15, 30, 45]) {
      const { rank } = medianWithLowerBound(Array.from({ length: n }, (_, i) => i));
      assert(binomialCdf(rank - 1, n) <= 0.05 && binomialCdf(rank, n) > 0.05, `n = ${n}`);
    }
    assertEquals(binomialCdf(3, 15).toFixed(4), "0.0176");
  });
});
