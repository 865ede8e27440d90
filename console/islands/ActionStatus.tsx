/** @jsxRuntime automatic @jsxImportSource preact */
import ActionResult from "../components/ActionResult.tsx";
import { notice } from "../models/actions.ts";

/** The result of the latest action sent from this page, announced to screen readers as it changes. */
export default function ActionStatus() {
  const n = notice.value;
  return (
    <div role="status" aria-live="polite" class="empty:hidden" data-island-root="action-status">
      {n?.kind === "sending" && (
        <p
          class="rounded border-l-4 border-blue-700 bg-blue-50 px-3 py-2 text-sm text-blue-900"
          data-status="SENDING"
        >
          <span aria-hidden="true">…</span> Sending {n.what}
        </p>
      )}
      {n?.kind === "record" && <ActionResult record={n.record} />}
      {n?.kind === "refused" && (
        <div
          class="rounded border-l-4 border-red-700 bg-red-50 px-3 py-2 text-sm text-red-900"
          data-status="REFUSED"
        >
          <p class="font-semibold">
            <span aria-hidden="true">✖</span> The console refused {n.what}
          </p>
          <p>
            <span class="font-mono" data-field="code">{n.error.code}:</span>{" "}
            <span data-field="message">{n.error.message}</span>
          </p>
        </div>
      )}
    </div>
  );
}
