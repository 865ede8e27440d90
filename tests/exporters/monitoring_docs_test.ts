import { assert, assertEquals, assertGreaterOrEqual, assertStringIncludes } from "@std/assert";
import { afterAll, describe, it } from "@std/testing/bdd";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportedSampleNames, unknownMetricNames } from "./_metric_names.ts";

const DOCS = fileURLToPath(new URL("../../docs/monitoring/", import.meta.url));
const OUT = fileURLToPath(new URL("../../out/exporters/", import.meta.url));
const BUILD_INFO = "hestiastore_build_info";

/** Runs promtool; fails with how to install it when it is missing. */
function promtool(...args: string[]): { code: number; output: string } {
  const run = spawnSync("promtool", args, { encoding: "utf8" });
  if (run.error) {
    throw new Error(
      `Cannot run promtool (${run.error.message}): install it with ` +
        "`apt-get update && apt-get install -y prometheus` (Debian's Prometheus 2.42 ships /usr/bin/promtool)",
    );
  }
  return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

function readDoc(name: string): string {
  return readFileSync(join(DOCS, name), "utf8");
}

interface Panel {
  type: string;
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
}

interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

/** Every panel, rows' nested panels included. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** The dashboard's queries, as Prometheus sees them once Grafana filled in the variables. */
function dashboardQueries(dashboard: Dashboard): { title: string; expr: string }[] {
  return allPanels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).filter((t) => t.expr).map((t) => ({
      title: panel.title ?? panel.type,
      expr: t.expr!,
    }))
  );
}

describe("docs/monitoring", () => {
  mkdirSync(OUT, { recursive: true });
  const work = mkdtempSync(join(OUT, "monitoring_docs_"));
  const dashboard: Dashboard = JSON.parse(readDoc("grafana-dashboard.json"));
  const samples = exportedSampleNames();

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("alerts.yml passes promtool check rules", () => {
    const { code, output } = promtool("check", "rules", join(DOCS, "alerts.yml"));
    assertEquals(code, 0, output);
    assertStringIncludes(output, "SUCCESS");
  });

  it("alerts_test.yml passes promtool test rules", () => {
    const { code, output } = promtool("test", "rules", join(DOCS, "alerts_test.yml"));
    assertEquals(code, 0, output);
    assertStringIncludes(output, "SUCCESS");
  });

  it("alerts_test.yml tests every alert of alerts.yml", () => {
    const alerts = [...readDoc("alerts.yml").matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1]);
    const tested = new Set([...readDoc("alerts_test.yml").matchAll(/alertname: (\S+)$/gm)].map((m) => m[1]));
    assertGreaterOrEqual(alerts.length, 10);
    assertEquals(alerts.filter((alert) => !tested.has(alert)), []);
  });

  it("every alert has a severity and a summary and description naming its index or target", () => {
    const blocks = readDoc("alerts.yml").split(/^\s*- alert: /m).slice(1);
    for (const block of blocks) {
      const name = block.slice(0, block.indexOf("\n"));
      assert(/severity: (critical|warning)/.test(block), `${name}: severity`);
      assert(/summary: /.test(block) && /description: /.test(block), `${name}: annotations`);
      const subject = name === "HestiaStoreTargetDown" ? "{{ $labels.instance }}" : "{{ $labels.index }}";
      assertStringIncludes(block, subject, name);
    }
  });

  it("prometheus.yml with its rules passes promtool check config", () => {
    // promtool checks that the token file exists, so the copy points at a real one.
    const config = readDoc("prometheus.yml");
    const tokenLine = /credentials_file: \S+/;
    assert(tokenLine.test(config), "prometheus.yml reads the bearer token from a file");
    writeFileSync(join(work, "token"), "example-token\n");
    writeFileSync(
      join(work, "prometheus.yml"),
      config.replace(tokenLine, `credentials_file: ${join(work, "token")}`),
    );
    copyFileSync(join(DOCS, "alerts.yml"), join(work, "alerts.yml"));

    const { code, output } = promtool("check", "config", join(work, "prometheus.yml"));
    assertEquals(code, 0, output);
    assertStringIncludes(output, "1 rule files found");
    assertStringIncludes(config, "scrape_interval: 15s");
    assertStringIncludes(config, "job_name: hestiastore");
    assertStringIncludes(config, "metrics_path: /metrics");
  });

  it("grafana-dashboard.json has a data source variable and instance and index variables", () => {
    assertGreaterOrEqual(dashboard.schemaVersion, 36);
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    assertEquals(variables.get("datasource")?.type, "datasource");
    assertEquals(variables.get("datasource")?.query, "prometheus");
    for (const label of ["instance", "index"]) {
      const variable = variables.get(label);
      assertEquals(variable?.type, "query");
      const query = typeof variable?.query === "string" ? variable.query : variable?.query?.query;
      assertEquals(query, `label_values(hestiastore_index_up, ${label})`);
    }
    for (const panel of allPanels(dashboard.panels).filter((p) => p.type !== "row")) {
      assertEquals(
        (panel as { datasource?: { uid?: string } }).datasource?.uid,
        "${datasource}",
        panel.title,
      );
    }
  });

  it("every dashboard query filters on the instance and index variables", () => {
    for (const { title, expr } of dashboardQueries(dashboard)) {
      for (const [selector] of expr.matchAll(/hestiastore_[a-z0-9_]+(\{[^}]*\})?/g)) {
        assertStringIncludes(selector, 'instance=~"$instance"', `${title}: ${selector}`);
        if (!selector.startsWith(BUILD_INFO)) {
          assertStringIncludes(selector, 'index=~"$index"', `${title}: ${selector}`);
        }
      }
    }
  });

  it("every dashboard query parses as PromQL (promtool check rules)", () => {
    const queries = dashboardQueries(dashboard);
    assertGreaterOrEqual(queries.length, 40);
    // Grafana's variables, filled in as Grafana would: a rate window and "All".
    const rules = queries.map(({ expr }, i) => ({
      record: `dashboard:query_${i + 1}`,
      expr: expr.replaceAll("$__rate_interval", "1m").replace(/\$[a-z_]+/g, ".*"),
    }));
    const file = join(work, "dashboard_queries.yml");
    // JSON is YAML, so promtool reads it as a rule file.
    writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
    const { code, output } = promtool("check", "rules", file);
    assertEquals(code, 0, output);
    assertStringIncludes(output, `SUCCESS: ${rules.length} rules found`);
  });

  it("every hestiastore_ name in the dashboard, rules and scrape config is a series the exporter writes", () => {
    const queries = dashboardQueries(dashboard).map((q) => q.expr).join("\n");
    assert(
      queries.includes("hestiastore_operation_duration_seconds_bucket"),
      "the latency panel uses the histogram",
    );
    for (const name of ["grafana-dashboard.json", "alerts.yml", "alerts_test.yml", "prometheus.yml"]) {
      assertEquals(unknownMetricNames(readDoc(name), samples), [], name);
    }
  });
});
