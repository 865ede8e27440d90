/** @jsxRuntime automatic @jsxImportSource preact */
import { formatTarget, formatTime } from "../_format.ts";
import type { ActionRecord } from "../views.ts";

const HEADLINE: Record<ActionRecord["status"], { symbol: string; verb: string; classes: string }> = {
  PENDING: { symbol: "…", verb: "running", classes: "border-blue-700 bg-blue-50 text-blue-900" },
  COMPLETED: { symbol: "✔", verb: "completed", classes: "border-green-700 bg-green-50 text-green-900" },
  FAILED: { symbol: "✖", verb: "failed", classes: "border-red-700 bg-red-50 text-red-900" },
  REJECTED: { symbol: "✖", verb: "refused", classes: "border-red-700 bg-red-50 text-red-900" },
};

export interface ActionResultProps {
  record: ActionRecord;
}

/** An action's status, the agent's code and message, the per-index outcome and the requestId. */
export default function ActionResult({ record }: ActionResultProps) {
  const head = HEADLINE[record.status];
  const httpPart = record.httpStatus !== null && record.status !== "COMPLETED" ? `${record.httpStatus} ` : "";
  return (
    <div
      class={`rounded border-l-4 px-3 py-2 text-sm ${head.classes}`}
      data-request-id={record.requestId}
      data-status={record.status}
    >
      <p class="font-semibold">
        <span aria-hidden="true">{head.symbol}</span> {record.action} {head.verb}:{" "}
        {formatTarget(record.nodeName, record.indexName)}
        {record.status === "PENDING" && record.attempts > 1 ? ` (attempt ${record.attempts})` : ""}
      </p>
      <p>
        {record.code !== null && <span class="font-mono" data-field="code">{httpPart}{record.code}:</span>}
        {" "}
        <span data-field="message">{record.message}</span>
        {record.retryAfterSeconds !== null && (
          <span data-field="retry-after">. Retry after {record.retryAfterSeconds} s</span>
        )}
      </p>
      {record.results.length > 0 && (
        <ul class="mt-1 list-disc pl-5">
          {record.results.map((r) => (
            <li key={r.indexName} data-index={r.indexName}>
              {r.indexName}: {r.status} in {Math.round(r.durationMs)} ms{r.message ? ` — ${r.message}` : ""}
            </li>
          ))}
        </ul>
      )}
      <p class="mt-1 text-xs">
        requestId <code class="font-mono" data-field="requestId">{record.requestId}</code> · by {record.actor}
        {" "}
        · {formatTime(record.startedAt)}
      </p>
    </div>
  );
}
