/** @jsxRuntime automatic @jsxImportSource preact */
import { useEffect } from "preact/hooks";
import { formatTarget, formatTime, isoTime } from "../_format.ts";
import type { ActionRecord } from "../views.ts";
import StateBadge from "../components/StateBadge.tsx";
import { history, seedHistory, setHistory } from "../models/actions.ts";
import { api, IS_BROWSER } from "../models/api.ts";

export interface ActionHistoryProps {
  initial: ActionRecord[];
  pollIntervalMs: number;
  /** Only this node's actions; every node's when absent. */
  nodeId?: string;
}

const SHOWN = 25;

/** Recent actions of every user of this console, newest first, refreshed while the page is open. */
export default function ActionHistory({ initial, pollIntervalMs, nodeId }: ActionHistoryProps) {
  if (IS_BROWSER) seedHistory(initial);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      const answer = await api<ActionRecord[]>("GET", "/api/actions");
      if (answer.ok) setHistory(answer.body);
      timer = setTimeout(tick, pollIntervalMs);
    };
    timer = setTimeout(tick, pollIntervalMs);
    return () => clearTimeout(timer);
  }, [pollIntervalMs]);
  const records = (IS_BROWSER ? history.value : initial)
    .filter((r) => nodeId === undefined || r.nodeId === nodeId)
    .slice(0, SHOWN);
  return (
    <section aria-labelledby="history-title" class="rounded-lg border border-gray-300 bg-white p-4">
      <h2 id="history-title" class="text-lg font-semibold">Action history</h2>
      {records.length === 0
        ? <p class="mt-2 text-sm text-gray-700">No action sent since the console started.</p>
        : (
          <div
            class="relative mt-2 overflow-x-auto"
            tabIndex={0}
            role="region"
            aria-label="Action history table"
          >
            <table class="min-w-full text-left text-sm" data-table="history">
              <thead class="border-b border-gray-300 text-gray-700">
                <tr>
                  <th scope="col" class="py-1 pr-3 font-medium">Started</th>
                  <th scope="col" class="py-1 pr-3 font-medium">Action</th>
                  <th scope="col" class="py-1 pr-3 font-medium">Target</th>
                  <th scope="col" class="py-1 pr-3 font-medium">Status</th>
                  <th scope="col" class="py-1 pr-3 font-medium">Outcome</th>
                  <th scope="col" class="py-1 pr-3 font-medium">By</th>
                  <th scope="col" class="py-1 font-medium">requestId</th>
                </tr>
              </thead>
              <tbody>
                {records.map((r) => (
                  <tr
                    key={r.requestId}
                    class="border-b border-gray-200 align-top"
                    data-request-id={r.requestId}
                  >
                    <td class="py-1 pr-3 whitespace-nowrap">
                      <time dateTime={isoTime(r.startedAt)}>{formatTime(r.startedAt)}</time>
                    </td>
                    <td class="py-1 pr-3">{r.action}</td>
                    <td class="py-1 pr-3">{formatTarget(r.nodeName, r.indexName)}</td>
                    <td class="py-1 pr-3">
                      <StateBadge state={r.status} />
                    </td>
                    <td class="py-1 pr-3">
                      {r.code !== null && <span class="font-mono">{r.httpStatus ?? ""} {r.code}:</span>}
                      {r.message}
                      {r.retryAfterSeconds !== null ? `. Retry after ${r.retryAfterSeconds} s` : ""}
                    </td>
                    <td class="py-1 pr-3">{r.actor}</td>
                    <td class="py-1 font-mono text-xs">{r.requestId}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  );
}
