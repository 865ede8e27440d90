/** @jsxRuntime automatic @jsxImportSource preact */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { IndexSnapshot } from "../../agent/api/mod.ts";
import {
  formatAge,
  formatBytes,
  formatCount,
  formatDuration,
  formatMicros,
  formatPercent,
  formatRate,
  formatTime,
  isoTime,
} from "../_format.ts";
import type { IndexSummary, NodeDetailView } from "../views.ts";
import ActionButtons from "../components/ActionButtons.tsx";
import LastRefresh, { type RefreshState } from "../components/LastRefresh.tsx";
import StateBadge from "../components/StateBadge.tsx";
import { startPolling } from "../models/polling.ts";

export interface NodeDetailProps {
  initial: NodeDetailView;
}

type Item = [label: string, value: string, field: string];

/** One node: its state, process figures and every index's groups of metrics, refreshed in place. */
export default function NodeDetail({ initial }: NodeDetailProps) {
  const view = useSignal(initial);
  const refresh = useSignal<RefreshState>({ at: initial.generatedAt, error: null });
  useEffect(() =>
    startPolling<NodeDetailView>(
      `/api/nodes/${encodeURIComponent(initial.node.id)}`,
      initial.pollIntervalMs,
      (answer) => {
        if (answer.ok) {
          view.value = answer.body;
          refresh.value = { at: answer.body.generatedAt, error: null };
        } else {
          refresh.value = { at: refresh.value.at, error: answer.error! };
        }
      },
    ), []);
  const { node: n, snapshots, generatedAt } = view.value;
  const info = n.node;
  return (
    <div class="space-y-6" data-node-id={n.id} data-state={n.state}>
      <div class="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 class="text-2xl font-semibold">
            {n.name} <StateBadge state={n.state} />
          </h1>
          <p class="text-sm text-gray-700">{n.id} · {n.baseUrl}</p>
          {n.reason !== "" && <p class="mt-1 text-sm text-gray-900" data-field="reason">{n.reason}</p>}
          <p class="text-sm text-gray-700" data-field="last-seen">
            Last seen {n.lastSeen === null
              ? "never"
              : <time dateTime={isoTime(n.lastSeen)}>{formatAge(n.lastSeen, generatedAt)}</time>}
          </p>
        </div>
        <div class="space-y-2">
          <LastRefresh state={refresh.value} pollIntervalMs={view.value.pollIntervalMs} />
          <ActionButtons nodeId={n.id} nodeName={n.name} indexName={null} />
        </div>
      </div>
      {n.stale && (
        <p class="rounded border-l-4 border-yellow-700 bg-yellow-50 px-3 py-2 text-sm text-yellow-900">
          <span aria-hidden="true">▲</span>{" "}
          The node does not answer. The figures below are from its last report,{" "}
          {n.lastSeen !== null && formatTime(n.lastSeen)}.
        </p>
      )}
      {info !== null && (
        <Group
          title="Process"
          id={`${n.id}-process`}
          items={[
            ["HestiaStore", info.version, "version"],
            ["Runtime", `${info.runtime.name} ${info.runtime.version}`, "runtime"],
            ["Uptime", formatDuration(info.uptimeSeconds), "uptime"],
            ["Resident memory", formatBytes(info.memory.rssBytes), "rss"],
            [
              "Heap used",
              `${formatBytes(info.memory.heapUsedBytes)} of ${formatBytes(info.memory.heapTotalBytes)}`,
              "heap",
            ],
          ]}
        />
      )}
      {snapshots.length === 0 && <p class="text-sm text-gray-700">No index reported.</p>}
      {snapshots.map((s) => (
        <IndexSection
          key={s.indexName}
          nodeId={n.id}
          nodeName={n.name}
          snapshot={s}
          summary={n.indexes.find((i) => i.name === s.indexName)}
        />
      ))}
    </div>
  );
}

function IndexSection(
  { nodeId, nodeName, snapshot: s, summary }: {
    nodeId: string;
    nodeName: string;
    snapshot: IndexSnapshot;
    summary: IndexSummary | undefined;
  },
) {
  const id = `index-${s.indexName.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const bloomNegatives = s.bloomFilter.refused + s.bloomFilter.falsePositives;
  const segmentReads = s.segmentCache.hits + s.segmentCache.misses;
  const chunkReads = s.chunkCache.hits + s.chunkCache.misses;
  const groups: { title: string; items: Item[] }[] = [
    {
      title: "Operations",
      items: [
        ["Gets", formatCount(s.operations.gets), "gets"],
        ["Puts", formatCount(s.operations.puts), "puts"],
        ["Deletes", formatCount(s.operations.deletes), "deletes"],
        ["Batches", formatCount(s.operations.batches), "batches"],
        ["Ranges", formatCount(s.operations.ranges), "ranges"],
        ["Reads/s", formatRate(summary?.readRate ?? null), "readRate"],
        ["Writes/s", formatRate(summary?.writeRate ?? null), "writeRate"],
      ],
    },
    {
      title: "Latency",
      items: [
        ["Get p50", formatMicros(s.latency.get.p50Micros), "getP50"],
        ["Get p95", formatMicros(s.latency.get.p95Micros), "getP95"],
        ["Get p99", formatMicros(s.latency.get.p99Micros), "getP99"],
        ["Write p50", formatMicros(s.latency.write.p50Micros), "writeP50"],
        ["Write p95", formatMicros(s.latency.write.p95Micros), "writeP95"],
        ["Write p99", formatMicros(s.latency.write.p99Micros), "writeP99"],
        ["Sampled", s.latency.sampleEvery === 0 ? "off" : `1 in ${s.latency.sampleEvery}`, "sampleEvery"],
      ],
    },
    {
      title: "Segments",
      items: [
        ["Segments", formatCount(s.segments.count), "segments"],
        ["Ready", formatCount(s.segments.ready), "ready"],
        ["In maintenance", formatCount(s.segments.maintenance), "maintenance"],
        ["In error", formatCount(s.segments.error), "error"],
        ["Loaded / unloaded", `${s.segments.loaded} / ${s.segments.unloaded}`, "loaded"],
        ["Keys (upper bound)", formatCount(s.segments.totalKeys), "totalKeys"],
        ["Buffered keys", formatCount(s.segments.bufferedKeys), "bufferedKeys"],
        ["Delta files", formatCount(s.segments.deltaFiles), "deltaFiles"],
        ["On disk", formatBytes(s.segments.diskBytes), "diskBytes"],
      ],
    },
    {
      title: "Caches",
      items: [
        ["Segment cache", `${s.segmentCache.size} of ${s.segmentCache.limit} loaded`, "segmentCacheSize"],
        [
          "Segment cache hits",
          formatPercent(segmentReads === 0 ? null : s.segmentCache.hits / segmentReads),
          "segmentCacheHits",
        ],
        ["Segment evictions", formatCount(s.segmentCache.evictions), "segmentEvictions"],
        ["Chunk cache", `${s.chunkCache.size} of ${s.chunkCache.limit} chunks`, "chunkCacheSize"],
        ["Chunk cache bytes", formatBytes(s.chunkCache.bytes), "chunkCacheBytes"],
        [
          "Chunk cache hits",
          formatPercent(chunkReads === 0 ? null : s.chunkCache.hits / chunkReads),
          "chunkCacheHits",
        ],
        ["Chunk evictions", formatCount(s.chunkCache.evictions), "chunkEvictions"],
      ],
    },
    {
      title: "Bloom filter",
      items: [
        ["Bits per key", formatCount(s.bloomFilter.bitsPerKey), "bitsPerKey"],
        ["Hash functions", formatCount(s.bloomFilter.hashFunctions), "hashFunctions"],
        ["Expected false positives", formatPercent(s.bloomFilter.falsePositiveProbability), "expectedFp"],
        [
          "Measured false positives",
          formatPercent(bloomNegatives === 0 ? null : s.bloomFilter.falsePositives / bloomNegatives),
          "measuredFp",
        ],
        ["Checks", formatCount(s.bloomFilter.requests), "bloomRequests"],
        ["Refused (key absent)", formatCount(s.bloomFilter.refused), "bloomRefused"],
        ["Positives", formatCount(s.bloomFilter.positives), "bloomPositives"],
        ["False positives", formatCount(s.bloomFilter.falsePositives), "bloomFalsePositives"],
      ],
    },
    {
      title: "Write path",
      items: [
        [
          "Write cache limit",
          formatCount(s.writePath.segmentWriteCacheKeyLimit),
          "segmentWriteCacheKeyLimit",
        ],
        [
          "Limit during maintenance",
          formatCount(s.writePath.segmentWriteCacheKeyLimitDuringMaintenance),
          "segmentWriteCacheKeyLimitDuringMaintenance",
        ],
        [
          "Index buffer limit",
          formatCount(s.writePath.indexBufferedWriteKeyLimit),
          "indexBufferedWriteKeyLimit",
        ],
        ["Buffered keys", formatCount(s.writePath.bufferedKeys), "writeBufferedKeys"],
        ["Being flushed", formatCount(s.writePath.flushingKeys), "flushingKeys"],
        ["Inline flushes", formatCount(s.writePath.inlineFlushes), "inlineFlushes"],
        ["Backpressure waits", formatCount(s.writePath.backpressureWaits), "backpressureWaits"],
      ],
    },
    {
      title: "Maintenance",
      items: [
        ["Flushes requested / done", `${s.maintenance.flushRequests} / ${s.maintenance.flushes}`, "flushes"],
        [
          "Compactions requested / done",
          `${s.maintenance.compactRequests} / ${s.maintenance.compactions}`,
          "compactions",
        ],
        ["Flush p95", formatMicros(s.maintenance.flushAcceptedToDoneP95Micros), "flushP95"],
        ["Compaction p95", formatMicros(s.maintenance.compactAcceptedToDoneP95Micros), "compactP95"],
        ["Queued / running", `${s.maintenance.queued} / ${s.maintenance.inFlight}`, "queued"],
        ["Manifest commits", formatCount(s.maintenance.commits), "commits"],
        ["Failures", formatCount(s.maintenance.failures), "failures"],
      ],
    },
    {
      title: "Split",
      items: [
        ["Scheduled / done", `${s.split.scheduled} / ${s.split.completed}`, "splits"],
        ["Running", formatCount(s.split.inFlight), "splitInFlight"],
        ["Start delay p95", formatMicros(s.split.startDelayP95Micros), "splitStartP95"],
        ["Run time p95", formatMicros(s.split.runP95Micros), "splitRunP95"],
      ],
    },
    {
      title: "Write-ahead log",
      items: s.wal.enabled
        ? [
          ["Durability", s.wal.durability, "durability"],
          ["Appends", `${formatCount(s.wal.appends)} (${formatBytes(s.wal.appendedBytes)})`, "appends"],
          ["Syncs / failed", `${formatCount(s.wal.syncs)} / ${formatCount(s.wal.syncFailures)}`, "syncs"],
          [
            "Sync average / max",
            `${formatMicros(s.wal.syncAverageSeconds * 1e6)} / ${formatMicros(s.wal.syncSecondsMax * 1e6)}`,
            "syncTime",
          ],
          ["Corruptions / truncations", `${s.wal.corruptions} / ${s.wal.truncations}`, "corruptions"],
          ["Files", `${s.wal.fileCount} (${formatBytes(s.wal.retainedBytes)})`, "walFiles"],
          ["Durable / applied LSN", `${s.wal.durableLsn} / ${s.wal.appliedLsn}`, "lsn"],
          ["Checkpoint lag", `${formatCount(s.wal.checkpointLagLsn)} LSN`, "checkpointLag"],
          ["Waiting for sync", formatBytes(s.wal.pendingSyncBytes), "pendingSyncBytes"],
        ]
        : [["Durability", "off (no write-ahead log)", "durability"]],
    },
  ];
  return (
    <section
      aria-labelledby={id}
      class="rounded-lg border border-gray-300 bg-white p-4"
      data-index={s.indexName}
    >
      <div class="flex flex-wrap items-center justify-between gap-2">
        <h2 id={id} class="text-xl font-semibold">
          Index {s.indexName} <StateBadge state={s.state} />
        </h2>
        <ActionButtons nodeId={nodeId} nodeName={nodeName} indexName={s.indexName} />
      </div>
      <p class="text-xs text-gray-700">
        Opened <time dateTime={s.openedAt.iso}>{formatTime(s.openedAt.epochMs)}</time>, captured{" "}
        <time dateTime={s.capturedAt.iso}>{formatTime(s.capturedAt.epochMs)}</time>
      </p>
      <div class="mt-3 grid gap-3 md:grid-cols-2 xl:grid-cols-3">
        {groups.map((g) => <Group key={g.title} title={g.title} id={`${id}-${g.title}`} items={g.items} />)}
      </div>
    </section>
  );
}

function Group({ title, id, items }: { title: string; id: string; items: Item[] }) {
  const headingId = id.replace(/[^A-Za-z0-9_-]/g, "-");
  return (
    <section aria-labelledby={headingId} class="rounded border border-gray-200 p-3" data-group={title}>
      <h3 id={headingId} class="font-semibold">{title}</h3>
      <dl class="mt-1 grid grid-cols-2 gap-x-3 text-sm">
        {items.map(([label, value, field]) => (
          <div key={field} class="contents">
            <dt class="text-gray-700">{label}</dt>
            <dd class="text-right tabular-nums" data-field={field}>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
