/** @jsxRuntime automatic @jsxImportSource preact */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import {
  formatAge,
  formatBytes,
  formatCount,
  formatPercent,
  formatRate,
  formatTime,
  isoTime,
} from "../_format.ts";
import type { FleetView, NodeView } from "../views.ts";
import ActionButtons from "../components/ActionButtons.tsx";
import LastRefresh, { type RefreshState } from "../components/LastRefresh.tsx";
import Sparkline from "../components/Sparkline.tsx";
import StateBadge from "../components/StateBadge.tsx";
import { startPolling } from "../models/polling.ts";

export interface DashboardProps {
  initial: FleetView;
}

const TH = "px-3 py-2 font-medium whitespace-nowrap";
const TD = "px-3 py-2 align-top";

/** Fleet totals, the node table and the per-index summary, refreshed from `/api/fleet` without reloading. */
export default function Dashboard({ initial }: DashboardProps) {
  const fleet = useSignal(initial);
  const refresh = useSignal<RefreshState>({ at: initial.generatedAt, error: null });
  useEffect(() =>
    startPolling<FleetView>("/api/fleet", initial.pollIntervalMs, (answer) => {
      if (answer.ok) {
        fleet.value = answer.body;
        refresh.value = { at: answer.body.generatedAt, error: null };
      } else {
        refresh.value = { at: refresh.value.at, error: answer.error! };
      }
    }), []);
  const f = fleet.value;
  return (
    <div class="space-y-6">
      <div class="flex flex-wrap items-baseline justify-between gap-2">
        <h1 class="text-2xl font-semibold">Fleet</h1>
        <LastRefresh state={refresh.value} pollIntervalMs={f.pollIntervalMs} />
      </div>
      <Totals fleet={f} />
      <NodeTable fleet={f} />
      <IndexTable fleet={f} />
    </div>
  );
}

function Totals({ fleet }: { fleet: FleetView }) {
  const t = fleet.totals;
  const wal = t.walIndexes === 0
    ? { value: "No log", note: "no index writes a WAL" }
    : t.walProblems === 0
    ? { value: "OK", note: `${t.walIndexes} index(es) with a WAL` }
    : { value: `${t.walProblems} problem(s)`, note: `of ${t.walIndexes} index(es) with a WAL` };
  const cards = [
    { key: "nodes", label: "Nodes", value: formatCount(t.nodes), note: `${t.indexes} open index(es)` },
    {
      key: "reachable",
      label: "Reachable",
      value: `${t.reachable} of ${t.nodes}`,
      note: t.reachable === t.nodes ? "every node answers" : `${t.nodes - t.reachable} not answering`,
    },
    { key: "read-rate", label: "Reads", value: formatRate(t.readRate), note: "get operations per second" },
    {
      key: "write-rate",
      label: "Writes",
      value: formatRate(t.writeRate),
      note: "put and delete operations per second",
    },
    {
      key: "cache-hit",
      label: "Cache hit ratio",
      value: formatPercent(t.cacheHitRatio),
      note: "chunk cache, point reads since open",
    },
    { key: "wal", label: "WAL health", value: wal.value, note: wal.note },
  ];
  return (
    <dl class="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6" aria-label="Fleet totals">
      {cards.map((c) => (
        <div key={c.key} class="rounded-lg border border-gray-300 bg-white p-3" data-total={c.key}>
          <dt class="text-sm text-gray-700">{c.label}</dt>
          <dd class="text-2xl font-semibold" data-field="value">{c.value}</dd>
          <dd class="text-xs text-gray-700">{c.note}</dd>
        </div>
      ))}
    </dl>
  );
}

function NodeTable({ fleet }: { fleet: FleetView }) {
  return (
    <section aria-labelledby="nodes-title" class="rounded-lg border border-gray-300 bg-white">
      <h2 id="nodes-title" class="px-3 pt-3 text-lg font-semibold">Nodes</h2>
      <div class="relative overflow-x-auto" tabIndex={0} role="region" aria-label="Node table">
        <table class="min-w-full text-left text-sm" data-table="nodes">
          <thead class="border-b border-gray-300 text-gray-700">
            <tr>
              <th scope="col" class={TH}>Node</th>
              <th scope="col" class={TH}>State</th>
              <th scope="col" class={TH}>Last seen</th>
              <th scope="col" class={TH}>Indexes</th>
              <th scope="col" class={TH}>Keys</th>
              <th scope="col" class={TH}>Reads/s</th>
              <th scope="col" class={TH}>Writes/s</th>
              <th scope="col" class={TH}>Actions</th>
            </tr>
          </thead>
          <tbody>
            {fleet.nodes.map((n) => <NodeRow key={n.id} node={n} reference={fleet.generatedAt} />)}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function NodeRow({ node: n, reference }: { node: NodeView; reference: number }) {
  const reachable = n.state === "UP" || n.state === "DEGRADED";
  const keys = n.indexes.reduce((sum, i) => sum + i.totalKeys, 0);
  return (
    <tr class="border-b border-gray-200" data-node-id={n.id} data-state={n.state}>
      <th scope="row" class={`${TD} font-normal`}>
        <a href={`/nodes/${encodeURIComponent(n.id)}`} class="font-semibold text-blue-800 underline">
          {n.name}
        </a>
        <div class="text-xs text-gray-700">{n.id} · {n.baseUrl}</div>
      </th>
      <td class={TD}>
        <StateBadge state={n.state} />
        {n.reason !== "" && (
          <div class="mt-1 max-w-xs text-xs text-gray-800" data-field="reason">{n.reason}</div>
        )}
        <div class="text-xs text-gray-700">
          since <time dateTime={isoTime(n.stateSince)}>{formatTime(n.stateSince)}</time>
        </div>
      </td>
      <td class={`${TD} whitespace-nowrap`} data-field="last-seen">
        {n.lastSeen === null ? "never" : (
          <time dateTime={isoTime(n.lastSeen)} title={formatTime(n.lastSeen)}>
            {formatAge(n.lastSeen, reference)}
          </time>
        )}
        {reachable && n.latencyMs !== null && (
          <div class="text-xs text-gray-700">answered in {n.latencyMs} ms</div>
        )}
      </td>
      <td class={TD} data-field="indexes">
        {n.indexes.length}
        {n.stale && <div class="text-xs text-gray-700">last known</div>}
      </td>
      <td class={TD} data-field="keys">{formatCount(keys)}</td>
      <td class={TD}>
        <RateCell
          values={n.series.map((p) => p.read)}
          latest={n.readRate}
          label={`Reads per second of ${n.name}`}
        />
      </td>
      <td class={TD}>
        <RateCell
          values={n.series.map((p) => p.write)}
          latest={n.writeRate}
          label={`Writes per second of ${n.name}`}
        />
      </td>
      <td class={TD}>
        <ActionButtons nodeId={n.id} nodeName={n.name} indexName={null} />
      </td>
    </tr>
  );
}

function RateCell(
  { values, latest, label }: { values: (number | null)[]; latest: number | null; label: string },
) {
  return (
    <div class="flex items-center gap-2">
      <Sparkline values={values} label={label} />
      <span class="tabular-nums">{formatRate(latest)}</span>
    </div>
  );
}

function IndexTable({ fleet }: { fleet: FleetView }) {
  const rows = fleet.nodes.flatMap((n) => n.indexes.map((i) => ({ node: n, index: i })));
  return (
    <section aria-labelledby="indexes-title" class="rounded-lg border border-gray-300 bg-white">
      <h2 id="indexes-title" class="px-3 pt-3 text-lg font-semibold">Indexes</h2>
      {rows.length === 0
        ? <p class="px-3 pb-3 text-sm text-gray-700">No node has reported an index yet.</p>
        : (
          <div class="relative overflow-x-auto" tabIndex={0} role="region" aria-label="Index table">
            <table class="min-w-full text-left text-sm" data-table="indexes">
              <thead class="border-b border-gray-300 text-gray-700">
                <tr>
                  <th scope="col" class={TH}>Index</th>
                  <th scope="col" class={TH}>State</th>
                  <th scope="col" class={TH}>Keys</th>
                  <th scope="col" class={TH}>Segments</th>
                  <th scope="col" class={TH}>On disk</th>
                  <th scope="col" class={TH}>Gets</th>
                  <th scope="col" class={TH}>Puts</th>
                  <th scope="col" class={TH}>Deletes</th>
                  <th scope="col" class={TH}>Reads/s</th>
                  <th scope="col" class={TH}>Writes/s</th>
                  <th scope="col" class={TH}>Cache hits</th>
                  <th scope="col" class={TH}>WAL</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ node: n, index: i }) => (
                  <tr
                    key={`${n.id}/${i.name}`}
                    class="border-b border-gray-200"
                    data-node-id={n.id}
                    data-index={i.name}
                  >
                    <th scope="row" class={`${TD} font-normal`}>
                      <span class="font-semibold">{i.name}</span>
                      <div class="text-xs text-gray-700">
                        on {n.name}
                        {n.stale ? " (last known)" : ""}
                      </div>
                    </th>
                    <td class={TD}>
                      <StateBadge state={i.state} />
                    </td>
                    <td class={TD} data-field="totalKeys">{formatCount(i.totalKeys)}</td>
                    <td class={TD} data-field="segments">{formatCount(i.segments)}</td>
                    <td class={`${TD} whitespace-nowrap`} data-field="diskBytes">
                      {formatBytes(i.diskBytes)}
                    </td>
                    <td class={TD} data-field="gets">{formatCount(i.gets)}</td>
                    <td class={TD} data-field="puts">{formatCount(i.puts)}</td>
                    <td class={TD} data-field="deletes">{formatCount(i.deletes)}</td>
                    <td class={TD} data-field="readRate">{formatRate(i.readRate)}</td>
                    <td class={TD} data-field="writeRate">{formatRate(i.writeRate)}</td>
                    <td class={TD} data-field="cacheHits">
                      {formatPercent(
                        i.cacheHits + i.cacheMisses === 0
                          ? null
                          : i.cacheHits / (i.cacheHits + i.cacheMisses),
                      )}
                    </td>
                    <td class={TD} data-field="wal">
                      <span class="font-medium">
                        {i.wal.status === "PROBLEM" && <span aria-hidden="true">✖</span>}
                        {i.wal.status}
                      </span>
                      <div class="text-xs text-gray-700">{i.wal.detail}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  );
}
