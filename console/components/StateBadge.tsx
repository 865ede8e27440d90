/** @jsxRuntime automatic @jsxImportSource preact */
import type { ActionStatus, NodeState } from "../views.ts";

// Each state has its own symbol and its name in text, so nothing depends on telling colours apart.
const LOOK: Record<NodeState | ActionStatus | "READY" | "OTHER", { symbol: string; classes: string }> = {
  UP: { symbol: "●", classes: "bg-green-100 text-green-900 border-green-700" },
  READY: { symbol: "●", classes: "bg-green-100 text-green-900 border-green-700" },
  DEGRADED: { symbol: "▲", classes: "bg-yellow-100 text-yellow-900 border-yellow-700" },
  OTHER: { symbol: "▲", classes: "bg-yellow-100 text-yellow-900 border-yellow-700" },
  DOWN: { symbol: "■", classes: "bg-red-100 text-red-900 border-red-700" },
  TIMEOUT: { symbol: "◆", classes: "bg-orange-100 text-orange-900 border-orange-700" },
  AUTH_FAILED: { symbol: "✖", classes: "bg-purple-100 text-purple-900 border-purple-700" },
  ERROR: { symbol: "✖", classes: "bg-red-100 text-red-900 border-red-700" },
  UNKNOWN: { symbol: "○", classes: "bg-gray-100 text-gray-800 border-gray-500" },
  PENDING: { symbol: "…", classes: "bg-blue-100 text-blue-900 border-blue-700" },
  COMPLETED: { symbol: "✔", classes: "bg-green-100 text-green-900 border-green-700" },
  FAILED: { symbol: "✖", classes: "bg-red-100 text-red-900 border-red-700" },
  REJECTED: { symbol: "✖", classes: "bg-red-100 text-red-900 border-red-700" },
};

export interface StateBadgeProps {
  /** A node state, an index state (READY, OPENING, …) or an action status. */
  state: string;
}

/** A state as a symbol, its name and a colour. */
export default function StateBadge({ state }: StateBadgeProps) {
  const look = LOOK[state as keyof typeof LOOK] ?? LOOK.OTHER;
  return (
    <span
      class={`inline-flex items-center gap-1 whitespace-nowrap rounded border px-2 py-0.5 text-xs font-semibold ${look.classes}`}
      data-state={state}
    >
      <span aria-hidden="true">{look.symbol}</span>
      {state.replace("_", " ")}
    </span>
  );
}
