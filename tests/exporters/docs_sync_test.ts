import { assert, assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { readFileSync } from "node:fs";
import { BUILD_INFO_NAME, DROPPED_REFERENCE_NAMES, FAMILIES, PREFIX } from "../../exporters/_catalog.ts";
import { exportedSampleNames, unknownMetricNames } from "./_metric_names.ts";

const METRICS_MD = new URL("../../docs/monitoring/metrics.md", import.meta.url);

/** The reference design's 44 meters (hestiastore-monitoring.md §1), without the prefix. */
const REFERENCE_NAMES = [
  "ops_get_total",
  "ops_put_total",
  "ops_delete_total",
  "registry_cache_hit_total",
  "registry_cache_miss_total",
  "registry_cache_load_total",
  "registry_cache_eviction_total",
  "registry_cache_size",
  "registry_cache_limit",
  "chunk_store_cache_page_limit",
  "chunk_store_cache_page_count",
  "chunk_store_cache_entry_count",
  "chunk_store_cache_hit_total",
  "chunk_store_cache_miss_total",
  "chunk_store_cache_load_total",
  "chunk_store_cache_eviction_total",
  "chunk_store_cache_invalidation_total",
  "segment_write_cache_key_limit",
  "segment_write_cache_key_limit_during_maintenance",
  "index_buffered_write_key_limit",
  "split_task_start_delay_p95_micros",
  "split_task_run_latency_p95_micros",
  "flush_accepted_to_ready_p95_micros",
  "compact_accepted_to_ready_p95_micros",
  "flush_busy_retry_total",
  "compact_busy_retry_total",
  "split_schedule_total",
  "split_in_flight",
  "index_maintenance_queue_size",
  "index_maintenance_queue_capacity",
  "index_maintenance_active_threads",
  "index_maintenance_completed_tasks_total",
  "index_maintenance_rejected_tasks_total",
  "split_maintenance_queue_size",
  "split_maintenance_queue_capacity",
  "split_maintenance_active_threads",
  "split_maintenance_completed_tasks_total",
  "split_maintenance_rejected_tasks_total",
  "stable_segment_maintenance_queue_size",
  "stable_segment_maintenance_queue_capacity",
  "stable_segment_maintenance_active_threads",
  "stable_segment_maintenance_completed_tasks_total",
  "stable_segment_maintenance_caller_runs_total",
  "index_up",
].map((name) => PREFIX + name);

const KEPT = new Set(
  FAMILIES.filter((f) => f.kind !== "histogram" && f.kind !== "state" && f.reference).map((f) => f.name),
);
const DROPPED = new Set(DROPPED_REFERENCE_NAMES.map((d) => PREFIX + d.name));

/** The cells of the table row whose first cell is `` `name` ``, or undefined. */
function row(markdown: string, name: string): string[] | undefined {
  const line = markdown.split("\n").find((l) => l.startsWith(`| \`${name}\` `));
  return line?.split("|").slice(1, -1).map((cell) => cell.trim());
}

describe("docs/monitoring/metrics.md", () => {
  const markdown = readFileSync(METRICS_MD, "utf8");

  it("the catalog keeps or drops each of the reference's 44 names, never both", () => {
    assertEquals(REFERENCE_NAMES.length, 44);
    assertEquals(new Set(REFERENCE_NAMES).size, 44);
    assertEquals([...KEPT, ...DROPPED].sort(), [...REFERENCE_NAMES].sort());
    assertEquals([...KEPT].filter((name) => DROPPED.has(name)), []);
  });

  it("marks each of the 44 reference names kept or dropped, as the catalog does", () => {
    for (const name of REFERENCE_NAMES) {
      const cells = row(markdown, name);
      assert(cells, `${name} has no row in metrics.md`);
      assertEquals(cells[1], KEPT.has(name) ? "kept" : "dropped", name);
      assert(cells[2] !== "", `${name} has no source or reason`);
    }
  });

  it("lists every new series with its type", () => {
    const fresh = FAMILIES.filter((f) => f.kind === "histogram" || f.kind === "state" || !f.reference);
    for (const family of fresh) {
      const cells = row(markdown, family.name);
      assert(cells, `${family.name} has no row in metrics.md`);
      assertEquals(cells[1], family.kind === "state" ? "gauge" : family.kind, family.name);
    }
    assertEquals(row(markdown, BUILD_INFO_NAME)?.[1], "gauge");
  });

  it("names no hestiastore_ metric that the exporter does not write, except the dropped reference names", () => {
    const known = new Set([...exportedSampleNames(), ...FAMILIES.map((f) => f.name), ...DROPPED]);
    assertEquals(unknownMetricNames(markdown, known), []);
  });
});
