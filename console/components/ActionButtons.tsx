/** @jsxRuntime automatic @jsxImportSource preact */
import { useSignal } from "@preact/signals";
import type { ActionKind } from "../views.ts";
import { actionKey, pending, runAction } from "../models/actions.ts";
import ConfirmDialog from "./ConfirmDialog.tsx";

const WORDING: Record<ActionKind, { label: string; busy: string; explain: string }> = {
  FLUSH: {
    label: "Flush",
    busy: "Flushing…",
    explain: "Writes the buffered keys of the write caches to disk and waits until they are durable.",
  },
  COMPACT: {
    label: "Compact",
    busy: "Compacting…",
    explain: "Merges each segment's delta files into its main table. Disk and CPU are busy while it runs.",
  },
};

export interface ActionButtonsProps {
  nodeId: string;
  nodeName: string;
  /** Null: act on every index of the node. */
  indexName: string | null;
}

/** Flush and Compact buttons for a node or one index: confirmation, then a pending state until the result. */
export default function ActionButtons({ nodeId, nodeName, indexName }: ActionButtonsProps) {
  const asking = useSignal<ActionKind | null>(null);
  // Visible text stays short ("Flush all" in a node's row); the hidden rest names the target for screen readers.
  const [shown, hidden] = indexName === null
    ? [" all", ` indexes of ${nodeName}`]
    : ["", ` index ${indexName} of ${nodeName}`];
  const target = `${shown}${hidden}`.trim();
  return (
    <div class="flex flex-wrap gap-2">
      {(["FLUSH", "COMPACT"] as const).map((action) => {
        const busy = pending.value.has(actionKey(nodeId, action, indexName));
        const words = WORDING[action];
        return (
          <button
            key={action}
            type="button"
            disabled={busy}
            aria-busy={busy}
            data-action={action}
            class="whitespace-nowrap rounded border border-blue-700 bg-white px-2.5 py-1 text-sm font-medium text-blue-800 hover:bg-blue-50 focus:outline-none focus:ring-2 focus:ring-blue-600 disabled:cursor-wait disabled:border-gray-400 disabled:text-gray-700"
            onClick={() => asking.value = action}
          >
            {busy ? words.busy : `${words.label}${shown}`}
            <span class="sr-only">{busy ? ` ${target}` : hidden}</span>
          </button>
        );
      })}
      {asking.value !== null && (
        <ConfirmDialog
          title={`${WORDING[asking.value].label} ${target}?`}
          description={WORDING[asking.value].explain}
          confirmLabel={`${WORDING[asking.value].label} now`}
          onConfirm={() => void runAction(nodeId, nodeName, asking.value!, indexName)}
          onClose={() => asking.value = null}
        />
      )}
    </div>
  );
}
